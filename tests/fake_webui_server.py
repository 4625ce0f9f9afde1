"""A loopback HTTP server that answers the WebUI API the way A1111 v1.10.1 does, and can
misbehave the ways real servers do.

What it imitates (modules/api/api.py, modules/api/models.py, modules/processing.py of
v1.10.1):

* ``POST /sdapi/v1/img2img`` takes the request model the WebUI builds with pydantic from
  the processing classes' fields (every field optional, coerced like pydantic 1 does);
  a field of the wrong type gets FastAPI's 422 ``{"detail": [{"loc": ["body", name],
  "msg": ..., "type": ...}]}``; ``init_images`` missing gets 404 "Init image not found".
* Batch item i gets seed + i; init_images are base64 images, one per item when their
  count equals batch_size; with more than one image and the return_grid option on (the
  default) a grid comes first.
* Samples come out at the latent grid: width and height rounded down to multiples of 8.
  With a ``mask`` the init image is pasted back over the sample where the mask is black
  ("overlay": the mask blurred by mask_blur 4 and doubled, as the WebUI does for the whole
  picture), and a sample that is not the init image's size can't be overlaid: HTTP 500
  ``{"error": "ValueError", ..., "errors": "images do not match"}``.
* ``--api-auth``: every route wants HTTP Basic credentials; none gives 401 "Not
  authenticated", wrong ones 401 "Incorrect username or password".
* ``GET /sdapi/v1/samplers`` lists samplers; ``GET /sdapi/v1/face-restorers`` and
  ``GET /sdapi/v1/upscalers`` list the restorers and upscalers it has (``Behaviour``).
* ``POST /sdapi/v1/extra-single-image`` takes ``ExtrasSingleImageRequest`` (pydantic 1,
  with its ranges: a visibility above 1 gets 422) and runs the postprocessing scripts in
  their order, as ``modules/postprocessing.run_extras`` does: Upscale (upscaler_1 "None"
  skips it; an unknown name fails the assertion, HTTP 500; "scale by" or "upscale to" the
  larger ratio, the upscaler applied up to three times until the size is reached, then
  resized with Lanczos to the size rounded down to 8 px, then with "crop to fit" pasted
  centred on a black canvas of the target size), GFPGAN, CodeFormer (each when its
  visibility is not 0, blended with the image at that visibility); the reply is
  ``{"html_info", "image"}``.

The "sample" of each item is its init image inverted, with the item's seed written into
the first pixel (as three bytes), so a test can check which seed each face got. A model
upscaler here enlarges by its scale with nearest neighbours and copies the red channel into
the blue one (``upscaled_by_model``); Lanczos and Nearest resize as the WebUI does. A
restorer lightens the face and writes its mark and CodeFormer's weight into the first
pixel (``restored_by``).

``Behaviour`` makes it misbehave: slow, HTTP 500 for the first n requests or always, an
answer that is not JSON, images of the wrong size or number, a 4xx with a message, or
dying after n answers (the connection dropped, nothing listening any more); the extras
route separately: HTTP 500 for the first n requests, images of the wrong size, a restorer
that finds no face (and returns the image as it was), or no extras routes at all.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Optional

import cv2
import numpy as np
from PIL import Image
from pydantic import BaseModel, Field, ValidationError, create_model

# The fields of StableDiffusionImg2ImgProcessingAPI in v1.10.1: the __init__ fields of
# StableDiffusionProcessing and StableDiffusionProcessingImg2Img less API_NOT_ALLOWED, plus
# the API's own; every one Optional, images as base64 strings.
_FIELDS: dict[str, Any] = {
    "prompt": str, "negative_prompt": str, "styles": list[str], "seed": int, "subseed": int,
    "subseed_strength": float, "seed_resize_from_h": int, "seed_resize_from_w": int,
    "sampler_name": str, "scheduler": str, "batch_size": int, "n_iter": int, "steps": int,
    "cfg_scale": float, "width": int, "height": int, "restore_faces": bool, "tiling": bool,
    "do_not_save_samples": bool, "do_not_save_grid": bool, "eta": float,
    "denoising_strength": float, "s_min_uncond": float, "s_churn": float, "s_tmax": float,
    "s_tmin": float, "s_noise": float, "override_settings": dict[str, Any],
    "override_settings_restore_afterwards": bool, "refiner_checkpoint": str,
    "refiner_switch_at": float, "disable_extra_networks": bool, "firstpass_image": str,
    "comments": dict, "init_images": list, "resize_mode": int, "image_cfg_scale": float,
    "mask": str, "mask_blur_x": int, "mask_blur_y": int, "mask_blur": int, "mask_round": bool,
    "inpainting_fill": int, "inpaint_full_res": bool, "inpaint_full_res_padding": int,
    "inpainting_mask_invert": int, "initial_noise_multiplier": float, "latent_mask": str,
    "force_task_id": str, "sampler_index": str, "include_init_images": bool,
    "script_name": str, "script_args": list, "send_images": bool, "save_images": bool,
    "alwayson_scripts": dict, "infotext": str,
}
_DEFAULTS = {"seed": -1, "batch_size": 1, "width": 512, "height": 512, "mask_blur_x": 4,
             "mask_blur_y": 4, "send_images": True, "resize_mode": 0}
Img2ImgRequest = create_model(
    "StableDiffusionProcessingImg2Img",
    **{name: (Optional[kind], _DEFAULTS.get(name)) for name, kind in _FIELDS.items()})  # noqa: UP045
SAMPLERS = [{"name": "Euler a", "aliases": ["k_euler_a", "k_euler_ancestral"], "options": {}},
            {"name": "DPM++ 2M", "aliases": ["k_dpmpp_2m"], "options": {}}]
LATENT_GRID = 8
_EXTRAS_ROUTES = ("/sdapi/v1/face-restorers", "/sdapi/v1/upscalers",
                  "/sdapi/v1/extra-single-image")


class ExtrasSingleImageRequest(BaseModel):
    """modules/api/models.py ExtrasBaseRequest + ExtrasSingleImageRequest of v1.10.1."""

    resize_mode: Literal[0, 1] = 0
    show_extras_results: bool = True
    gfpgan_visibility: float = Field(default=0, ge=0, le=1, allow_inf_nan=False)
    codeformer_visibility: float = Field(default=0, ge=0, le=1, allow_inf_nan=False)
    codeformer_weight: float = Field(default=0, ge=0, le=1, allow_inf_nan=False)
    upscaling_resize: float = Field(default=2, gt=0)
    upscaling_resize_w: int = Field(default=512, ge=1)
    upscaling_resize_h: int = Field(default=512, ge=1)
    upscaling_crop: bool = True
    upscaler_1: str = "None"
    upscaler_2: str = "None"
    extras_upscaler_2_visibility: float = Field(default=0, ge=0, le=1, allow_inf_nan=False)
    upscale_first: bool = False
    image: str = ""


RESTORERS = ("CodeFormer", "GFPGAN")
# (name, scale) as v1.10.1 lists them with the ESRGAN and R-ESRGAN models installed; None,
# Lanczos and Nearest show the scale 4 of their data too.
UPSCALERS = (("None", 4), ("Lanczos", 4), ("Nearest", 4), ("ESRGAN_4x", 4),
             ("R-ESRGAN 4x+", 4), ("R-ESRGAN 4x+ Anime6B", 4))
_RESAMPLING_UPSCALERS = {"Lanczos": Image.LANCZOS, "Nearest": Image.NEAREST}
RESTORER_MARKS = {"GFPGAN": 1, "CodeFormer": 2}
"""The green value of a restored face's first pixel: which restorer it went through."""


def upscaled_by_model(image: np.ndarray, scale: int) -> np.ndarray:
    """One pass of a model upscaler here: nearest neighbours, the red channel copied into
    the blue one (a mark that survives more passes and resizing)."""
    enlarged = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
    enlarged[..., 2] = enlarged[..., 0]
    return enlarged


def restored_by(name: str, image: np.ndarray, weight: float) -> np.ndarray:
    """A restorer's face: lightened, its mark and (CodeFormer) the weight in the first
    pixel."""
    restored = (image // 2 + 64).astype(np.uint8)
    restored[0, 0] = (round(weight * 255) if name == "CodeFormer" else 0,
                      RESTORER_MARKS[name], 0)
    return restored


@dataclass
class Behaviour:
    """How the server misbehaves; a test may change it while the server runs."""

    delay: float = 0.0
    """Seconds to wait before answering img2img."""
    hold: threading.Event | None = None
    """img2img answers wait until this is set (at most two minutes): a test's gate."""
    fail_first: int = 0
    """Answer HTTP 500 to this many img2img requests first."""
    status: int | None = None
    """Answer every img2img request with this status and ``message``."""
    message: str = "something went wrong"
    not_json: bool = False
    """Answer img2img with 200 and a body that is not JSON."""
    image_size: tuple[int, int] | None = None
    """Return images of this (width, height) instead."""
    extra_images: int = 0
    """Return this many images more (negative: fewer)."""
    credentials: tuple[str, str] | None = None
    """Want these HTTP Basic credentials on every route (the WebUI's --api-auth)."""
    die_after: int | None = None
    """After this many img2img answers, the next request kills the server."""
    restorers: tuple[str, ...] = RESTORERS
    """The face restorers it has."""
    upscalers: tuple[tuple[str, int], ...] = UPSCALERS
    """The upscalers it has: (name, scale)."""
    extras_fail_first: int = 0
    """Answer HTTP 500 to this many extras requests first."""
    extras_image_size: tuple[int, int] | None = None
    """Return extras images of this (width, height) instead."""
    restorer_finds_no_face: bool = False
    """The restorers find no face and return the image as it was (as the WebUI's do when
    their face detector finds none, or their model can't load)."""
    extras_api: bool = True
    """False: no extras routes (face-restorers, upscalers, extra-single-image answer 404
    as routes FastAPI does not know), as a WebUI before them, a fork without them, or a
    proxy that forwards only img2img."""


@dataclass
class _Counters:
    img2img_answers: int = 0
    failures_left: int = 0
    extras_failures_left: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _decode(text: str) -> np.ndarray:
    if text.startswith("data:image/"):
        text = text.split(";")[1].split(",")[1]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(text))).convert("RGB"))


def _decode_mask(text: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(text))).convert("L"))


def _encode(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _overlay_alpha(mask: np.ndarray, blur_x: int, blur_y: int) -> np.ndarray:
    """The WebUI's mask_for_overlay for a whole-picture inpaint, as 0..1 (1 = sample)."""
    blurred = mask
    if blur_x > 0:
        blurred = cv2.GaussianBlur(blurred, (2 * int(2.5 * blur_x + 0.5) + 1, 1), blur_x)
    if blur_y > 0:
        blurred = cv2.GaussianBlur(blurred, (1, 2 * int(2.5 * blur_y + 0.5) + 1), blur_y)
    doubled = np.clip(blurred.astype(np.float32) * 2, 0, 255).astype(np.uint8)
    return doubled.astype(np.float32)[:, :, None] / 255.0


class _Handler(BaseHTTPRequestHandler):
    server: FakeWebUI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if not self._authorized():
            return
        behaviour = self.server.behaviour
        if self.path in _EXTRAS_ROUTES and not behaviour.extras_api:
            self._reply(404, {"detail": "Not Found"})
        elif self.path == "/sdapi/v1/samplers":
            self._reply(200, SAMPLERS)
        elif self.path == "/sdapi/v1/face-restorers":
            self._reply(200, [{"name": name, "cmd_dir": None} for name in behaviour.restorers])
        elif self.path == "/sdapi/v1/upscalers":
            self._reply(200, [{"name": name, "model_name": None, "model_path": None,
                               "model_url": None, "scale": float(scale)}
                              for name, scale in behaviour.upscalers])
        else:
            self._reply(404, {"detail": "Not Found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if not self._authorized():
            return
        if (self.path not in ("/sdapi/v1/img2img", "/sdapi/v1/extra-single-image")
                or (self.path in _EXTRAS_ROUTES and not self.server.behaviour.extras_api)):
            self._reply(404, {"detail": "Not Found"})
            return
        try:
            body = json.loads(raw)
        except json.JSONDecodeError as exc:
            self._reply(422, {"detail": [{"loc": ["body", exc.pos], "msg": exc.msg,
                                          "type": "value_error.jsondecode"}]})
            return
        if self.path == "/sdapi/v1/extra-single-image":
            self._extras_request(body)
            return
        self.server.requests.append(body)
        if self._misbehave():
            return
        request = self._validated(Img2ImgRequest, body)
        if request is not None:
            self._img2img(request)

    # --- the WebUI's behaviour --------------------------------------------------------------
    def _validated(self, model: Any, body: Any) -> Any:
        """The request parsed by ``model`` as FastAPI does; None after FastAPI's 422."""
        try:
            return model.parse_obj(body)
        except ValidationError as exc:
            self._reply(422, {"detail": [dict(e, loc=["body", *e["loc"]])
                                         for e in exc.errors()]})
            return None

    def _out_of_memory(self) -> None:
        self._reply(500, {"error": "RuntimeError", "detail": "", "body": "",
                          "errors": "CUDA out of memory"})

    def _authorized(self) -> bool:
        wanted = self.server.behaviour.credentials
        if wanted is None:
            return True
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            self._reply(401, {"detail": "Not authenticated"},
                        {"WWW-Authenticate": "Basic"})
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, password = "", ""
        if (user, password) != wanted:
            self._reply(401, {"detail": "Incorrect username or password"},
                        {"WWW-Authenticate": "Basic"})
            return False
        return True

    def _img2img(self, request: Any) -> None:
        if request.init_images is None:
            self._reply(404, {"detail": "Init image not found"})
            return
        batch = int(request.batch_size or 1)
        inits = [_decode(item) for item in request.init_images]
        width, height = int(request.width), int(request.height)
        sample_size = (width - width % LATENT_GRID, height - height % LATENT_GRID)
        seed = int(request.seed)
        if seed == -1:  # the WebUI picks one
            seed = random.randrange(2**24)
        outputs = []
        for i in range(batch):
            init = inits[i if len(inits) == batch else 0]
            init = np.asarray(Image.fromarray(init).resize((width, height)))
            sample = (255 - init)[:sample_size[1], :sample_size[0]].copy()
            sample[0, 0] = list((seed + i).to_bytes(4, "big")[1:])
            if request.mask:
                if sample.shape != init.shape:
                    self._reply(500, {"error": "ValueError", "detail": "", "body": "",
                                      "errors": "images do not match"})
                    return
                mask = _decode_mask(request.mask)
                alpha = _overlay_alpha(mask, int(request.mask_blur_x),
                                       int(request.mask_blur_y))
                mixed = init * (1.0 - alpha) + sample * alpha
                sample = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
            outputs.append(sample)
        outputs = self._wrong_images(outputs)
        images = [_encode(image) for image in outputs]
        overrides = request.override_settings or {}
        if overrides.get("return_grid", True) and batch > 1:
            images.insert(0, _encode(np.hstack(outputs)))
        self._reply(200, {"images": images if request.send_images else [],
                          "parameters": json.loads(request.json()),
                          "info": json.dumps({"seed": seed})})

    def _extras_request(self, body: Any) -> None:
        self.server.extras_requests.append(body)
        counters = self.server.counters
        with counters.lock:
            failing = counters.extras_failures_left > 0
            if failing:
                counters.extras_failures_left -= 1
        if failing:
            self._out_of_memory()
            return
        request = self._validated(ExtrasSingleImageRequest, body)
        if request is None:
            return
        try:
            image = Image.fromarray(_decode(request.image))
        except Exception:
            self._reply(500, {"detail": "Invalid encoded image"})
            return
        try:
            image, info = self._postprocess(image, request)
        except (AssertionError, AttributeError) as exc:
            self._reply(500, {"error": type(exc).__name__, "detail": "", "body": "",
                              "errors": str(exc)})
            return
        result = np.asarray(image.convert("RGB"))
        size = self.server.behaviour.extras_image_size
        if size is not None:
            result = cv2.resize(result, size)
        infotext = ", ".join(f"{k}: {v}" for k, v in info.items())
        self._reply(200, {"html_info": f"<p>{infotext}</p>", "image": _encode(result)})

    def _postprocess(self, image: Image.Image, request: ExtrasSingleImageRequest
                     ) -> tuple[Image.Image, dict[str, Any]]:
        """scripts/postprocessing_upscale.py, _gfpgan.py, _codeformer.py, in that order."""
        behaviour = self.server.behaviour
        info: dict[str, Any] = {}
        scales = dict(behaviour.upscalers)
        name = None if request.upscaler_1 == "None" else request.upscaler_1
        assert name is None or name in scales, f"could not find upscaler named {name}"
        second = None if request.upscaler_2 == "None" else request.upscaler_2
        assert second is None or second in scales, f"could not find upscaler named {second}"
        if name is not None:
            image = self._upscale(image, request, name, scales[name], info)
        for restorer, visibility in (("GFPGAN", request.gfpgan_visibility),
                                     ("CodeFormer", request.codeformer_visibility)):
            if visibility == 0:
                continue
            if restorer not in behaviour.restorers:
                raise AttributeError("'NoneType' object has no attribute 'restore'")
            pixels = np.asarray(image.convert("RGB"))
            if not behaviour.restorer_finds_no_face:
                pixels = restored_by(restorer, pixels, request.codeformer_weight)
            restored = Image.fromarray(pixels)
            if visibility < 1.0:
                restored = Image.blend(image, restored, visibility)
            image = restored
            info[f"{restorer} visibility"] = round(visibility, 3)
            if restorer == "CodeFormer":
                info["CodeFormer weight"] = round(request.codeformer_weight, 3)
        return image, info

    @staticmethod
    def _upscale(image: Image.Image, request: ExtrasSingleImageRequest, name: str,
                 model_scale: int, info: dict[str, Any]) -> Image.Image:
        """ScriptPostprocessingUpscale.upscale and modules/upscaler.Upscaler.upscale."""
        width, height = request.upscaling_resize_w, request.upscaling_resize_h
        if request.resize_mode == 1:
            scale = max(width / image.width, height / image.height)
            info["Postprocess upscale to"] = f"{width}x{height}"
        else:
            scale = request.upscaling_resize
            info["Postprocess upscale by"] = scale
        dest_w = int((image.width * scale) // 8 * 8)
        dest_h = int((image.height * scale) // 8 * 8)
        for attempt in range(3):
            if image.width >= dest_w and image.height >= dest_h and (attempt > 0
                                                                     or scale != 1):
                break
            shape = image.size
            if name in _RESAMPLING_UPSCALERS:
                image = image.resize((int(image.width * scale), int(image.height * scale)),
                                     resample=_RESAMPLING_UPSCALERS[name])
            else:
                image = Image.fromarray(upscaled_by_model(np.asarray(image.convert("RGB")),
                                                          model_scale))
            if shape == image.size:
                break
        if image.size != (dest_w, dest_h):
            image = image.resize((dest_w, dest_h), resample=Image.LANCZOS)
        if request.resize_mode == 1 and request.upscaling_crop:
            cropped = Image.new("RGB", (width, height))
            cropped.paste(image, box=(width // 2 - image.width // 2,
                                      height // 2 - image.height // 2))
            image = cropped
            info["Postprocess crop to"] = f"{image.width}x{image.height}"
        info["Postprocess upscaler"] = name
        return image

    # --- misbehaviour -------------------------------------------------------------------------
    def _misbehave(self) -> bool:
        """True when the request got a misbehaving answer (or none)."""
        behaviour, counters = self.server.behaviour, self.server.counters
        with counters.lock:
            dying = (behaviour.die_after is not None
                     and counters.img2img_answers >= behaviour.die_after)
            counters.img2img_answers += 1
            failing = counters.failures_left > 0
            if failing:
                counters.failures_left -= 1
        if dying:
            self.server.kill_soon()
            self.close_connection = True
            self.connection.shutdown(2)
            return True
        if behaviour.hold is not None:
            behaviour.hold.wait(timeout=120)
        if behaviour.delay:
            time.sleep(behaviour.delay)
        if failing:
            self._out_of_memory()
        elif behaviour.status is not None:
            self._reply(behaviour.status, {"detail": behaviour.message})
        elif behaviour.not_json:
            self._send(200, b"<html>Bad Gateway</html>", "text/html")
        else:
            return False
        return True

    def _wrong_images(self, outputs: list[np.ndarray]) -> list[np.ndarray]:
        behaviour = self.server.behaviour
        if behaviour.image_size is not None:
            outputs = [cv2.resize(image, behaviour.image_size) for image in outputs]
        if behaviour.extra_images > 0:
            outputs = outputs + outputs[:1] * behaviour.extra_images
        elif behaviour.extra_images < 0:
            outputs = outputs[:behaviour.extra_images]
        return outputs

    def _reply(self, status: int, payload: Any, headers: dict[str, str] | None = None
               ) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _send(self, status: int, data: bytes, kind: str,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class FakeWebUI(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict] = []
        """The img2img requests, in order."""
        self.extras_requests: list[dict] = []
        """The extras (extra-single-image) requests, in order."""
        self.behaviour = behaviour or Behaviour()
        self.counters = _Counters(failures_left=self.behaviour.fail_first,
                                  extras_failures_left=self.behaviour.extras_fail_first)
        self._killed = threading.Event()
        self.dead = threading.Event()
        """Set once a killed server listens no more."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (its timeout) is not the server's error; others are."""
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)

    def kill_soon(self) -> None:
        """Stop listening (from a handler thread): later connections are refused."""
        if not self._killed.is_set():
            self._killed.set()
            threading.Thread(target=self._kill, daemon=True).start()

    def _kill(self) -> None:
        self.shutdown()
        self.server_close()
        self.dead.set()


@contextmanager
def running_fake_webui(behaviour: Behaviour | None = None, **changes: Any
                       ) -> Iterator[FakeWebUI]:
    server = FakeWebUI(behaviour or Behaviour(**changes))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        if not server._killed.is_set():
            server.shutdown()
            server.server_close()
        thread.join(timeout=5)


def seed_in(image: np.ndarray) -> int:
    return int.from_bytes(bytes([0, *image[0, 0].tolist()]), "big")
