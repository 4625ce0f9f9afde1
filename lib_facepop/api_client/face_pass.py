"""The face pass on a WebUI server: faces processed through its HTTP API
(/sdapi/v1/img2img), as a FaceProcessor (docs/design.md section 3.4)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lib_facepop.api_client.server import (
    ServerError,
    WebUIServer,
    encode_png,
    latent_sizes,
)
from lib_facepop.processors.base import FacePassParams, FaceTask

log = logging.getLogger(__name__)

DEFAULT_FACE_BATCH = 8
"""Faces in one request at most, as the extension's --facepop-face-batch (GPU memory)."""

__all__ = [
    "DEFAULT_FACE_BATCH",
    "ServerError",
    "ServerJob",
    "WebUIServerProcessor",
    "base_body",
    "batches_for_api",
]


@dataclass(frozen=True)
class ServerJob:
    """The main job's sampling values on the server: the main pass uses them, and the face
    pass where it does not override them (docs/design.md section 3.4)."""

    steps: int = 40
    cfg_scale: float = 7.0
    denoising_strength: float = 0.4
    sampler_name: str | None = None
    scheduler: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    """More img2img API fields, passed through as given (e.g. override_settings)."""


def base_body(job: ServerJob) -> dict[str, Any]:
    """The fields every img2img request of a job shares: its extra fields, then sampling,
    output handling, and no batch grid (merged into the job's own override_settings)."""
    body: dict[str, Any] = dict(job.extra)
    overrides = dict(body.get("override_settings") or {})
    overrides["return_grid"] = False
    body.update({"n_iter": 1, "resize_mode": 0, "send_images": True, "save_images": False,
                 "override_settings": overrides})
    if job.sampler_name:
        body["sampler_name"] = job.sampler_name
    if job.scheduler:
        body["scheduler"] = job.scheduler
    return body


class WebUIServerProcessor:
    """Sends the faces of one image to a WebUI server as img2img batches.

    Faces sharing a prompt, a negative prompt and consecutive seeds go in ONE request
    (the API gives batch item i the seed ``seed + i``), at most ``face_batch`` of them;
    only faces that differ in those need a request of their own.
    """

    name = "server"

    def __init__(self, server: WebUIServer | str, job: ServerJob | None = None,
                 timeout: float = 600.0, face_batch: int = DEFAULT_FACE_BATCH) -> None:
        self.server = server if isinstance(server, WebUIServer) else WebUIServer(
            server, timeout=timeout)
        self.job = job or ServerJob()
        self.face_batch = max(1, int(face_batch))

    def process(self, tasks: Sequence[FaceTask], params: FacePassParams) -> list[np.ndarray]:
        outputs: dict[int, np.ndarray] = {}
        for batch in batches_for_api(tasks, self.face_batch):
            height, width = batch[0].image.shape[:2]
            log.info("FacePop: sending %d face(s) to %s", len(batch), self.server.url)
            images = self.server.img2img(self.request_body(batch, params), len(batch),
                                         latent_sizes(width, height))
            for task, image in zip(batch, images, strict=True):
                outputs[task.index] = image
        return [outputs[task.index] for task in tasks]

    def request_body(self, batch: Sequence[FaceTask], params: FacePassParams) -> dict:
        first = batch[0]
        height, width = first.image.shape[:2]
        body = base_body(self.job)
        if not params.always_on_scripts:
            body.pop("alwayson_scripts", None)
        body.update({
            "init_images": [encode_png(task.image) for task in batch],
            "prompt": first.prompt,
            "negative_prompt": first.negative_prompt,
            "seed": first.seed,
            "batch_size": len(batch),
            "steps": params.steps if params.steps is not None else self.job.steps,
            "cfg_scale": (params.cfg_scale if params.cfg_scale is not None
                          else self.job.cfg_scale),
            "denoising_strength": (params.denoising_strength
                                   if params.denoising_strength is not None
                                   else self.job.denoising_strength),
            "width": width,
            "height": height,
        })
        return body


def batches_for_api(tasks: Sequence[FaceTask], face_batch: int = DEFAULT_FACE_BATCH
                    ) -> list[list[FaceTask]]:
    """Split tasks into the fewest img2img requests that give each face its own seed, with
    at most ``face_batch`` faces each.

    A request's batch item i gets seed ``seed + i``, so a face joins the previous request
    when it shares its prompts and size and its seed is the next one.
    """
    batches: list[list[FaceTask]] = []
    for task in tasks:
        last = batches[-1] if batches else None
        if (last is not None and len(last) < face_batch
                and _request_key(last[-1]) == _request_key(task)
                and task.seed == last[0].seed + len(last)):
            last.append(task)
        else:
            batches.append([task])
    return batches


def _request_key(task: FaceTask) -> tuple:
    return task.prompt, task.negative_prompt, task.image.shape
