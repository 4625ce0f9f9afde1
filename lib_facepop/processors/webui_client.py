"""Faces processed by a running WebUI server through its HTTP API (/sdapi/v1/img2img)."""

from __future__ import annotations

import base64
import io
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from lib_facepop.errors import FacePopError
from lib_facepop.images import pil_to_array, to_rgb8
from lib_facepop.processors.base import FacePassParams, FaceTask

log = logging.getLogger(__name__)

IMG2IMG_ROUTE = "/sdapi/v1/img2img"


class ServerError(FacePopError, RuntimeError):
    """The WebUI server could not be reached or refused a request."""


@dataclass(frozen=True)
class ServerJob:
    """Main-job values the server pass uses where the face pass does not override them."""

    steps: int = 40
    cfg_scale: float = 7.0
    denoising_strength: float = 0.4
    sampler_name: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    """More img2img API fields, passed through as given (e.g. alwayson_scripts)."""


class WebUIServerProcessor:
    """Sends the faces of one image to a WebUI server as img2img batches.

    Faces sharing a prompt, a negative prompt and consecutive seeds go in ONE request
    (the API gives batch item i the seed ``seed + i``); only faces that differ in those
    need a request of their own.
    """

    name = "server"

    def __init__(self, base_url: str, job: ServerJob | None = None,
                 timeout: float = 600.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ServerError(f"server URL must start with http:// or https://, got "
                              f"{base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.job = job or ServerJob()
        self.timeout = timeout

    def process(self, tasks: Sequence[FaceTask], params: FacePassParams) -> list[np.ndarray]:
        outputs: dict[int, np.ndarray] = {}
        for batch in batches_for_api(tasks):
            images = self._img2img(batch, params)
            for task, image in zip(batch, images, strict=True):
                outputs[task.index] = image
        return [outputs[task.index] for task in tasks]

    def request_body(self, batch: Sequence[FaceTask], params: FacePassParams) -> dict:
        first = batch[0]
        height, width = first.image.shape[:2]
        body: dict[str, Any] = dict(self.job.extra)
        if not params.always_on_scripts:
            body.pop("alwayson_scripts", None)
        body.update({
            "init_images": [encode_png(task.image) for task in batch],
            "prompt": first.prompt,
            "negative_prompt": first.negative_prompt,
            "seed": first.seed,
            "batch_size": len(batch),
            "n_iter": 1,
            "steps": params.steps if params.steps is not None else self.job.steps,
            "cfg_scale": (params.cfg_scale if params.cfg_scale is not None
                          else self.job.cfg_scale),
            "denoising_strength": (params.denoising_strength
                                   if params.denoising_strength is not None
                                   else self.job.denoising_strength),
            "width": width,
            "height": height,
            "resize_mode": 0,
            "send_images": True,
            "save_images": False,
            "override_settings": {"return_grid": False},
        })
        if self.job.sampler_name:
            body["sampler_name"] = self.job.sampler_name
        return body

    def _img2img(self, batch: Sequence[FaceTask], params: FacePassParams) -> list[np.ndarray]:
        body = self.request_body(batch, params)
        reply = self._post(IMG2IMG_ROUTE, body)
        encoded = reply.get("images") if isinstance(reply, dict) else None
        if not isinstance(encoded, list):
            raise ServerError(f"{self.base_url}{IMG2IMG_ROUTE} answered without an 'images' "
                              f"list")
        if len(encoded) == len(batch) + 1:
            encoded = encoded[1:]  # a server that still returned the batch grid first
        if len(encoded) != len(batch):
            raise ServerError(f"{self.base_url}{IMG2IMG_ROUTE} returned {len(encoded)} "
                              f"images for {len(batch)} faces")
        return [decode_image(item) for item in encoded]

    def _post(self, route: str, body: dict) -> Any:
        url = f"{self.base_url}{route}"
        data = json.dumps(body).encode("utf-8")
        request = urllib.request.Request(url, data=data, method="POST",
                                         headers={"Content-Type": "application/json"})
        log.info("FacePop: sending %d face(s) to %s", body.get("batch_size", 0), url)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:500]
            raise ServerError(f"{url} answered HTTP {exc.code}: {detail}") from None
        except urllib.error.URLError as exc:
            raise ServerError(f"can't reach the WebUI server at {self.base_url} "
                              f"({exc.reason}); is it running with --api?") from None
        except (TimeoutError, OSError) as exc:
            raise ServerError(f"{url}: {exc}") from None
        except json.JSONDecodeError:
            raise ServerError(f"{url} did not answer with JSON") from None


def batches_for_api(tasks: Sequence[FaceTask]) -> list[list[FaceTask]]:
    """Split tasks into the fewest img2img requests that give each face its own seed.

    A request's batch item i gets seed ``seed + i``, so a face joins the previous request
    when it shares its prompts and size and its seed is the next one.
    """
    batches: list[list[FaceTask]] = []
    for task in tasks:
        last = batches[-1] if batches else None
        if (last is not None and _request_key(last[-1]) == _request_key(task)
                and task.seed == last[0].seed + len(last)):
            last.append(task)
        else:
            batches.append([task])
    return batches


def _request_key(task: FaceTask) -> tuple:
    return task.prompt, task.negative_prompt, task.image.shape


def encode_png(image: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def decode_image(encoded: str) -> np.ndarray:
    if not isinstance(encoded, str):
        raise ServerError("the server returned an image that is not a base64 string")
    if encoded.startswith("data:") and "," in encoded:
        encoded = encoded.split(",", 1)[1]
    try:
        with Image.open(io.BytesIO(base64.b64decode(encoded))) as img:
            img.load()
            return to_rgb8(pil_to_array(img), name="server image")
    except (ValueError, OSError) as exc:
        raise ServerError(f"the server returned an image FacePop can't decode ({exc})") from None
