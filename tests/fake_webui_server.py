"""A loopback HTTP server that answers /sdapi/v1/img2img the way A1111 v1.10 does.

What it imitates (modules/api/api.py and modules/processing.py of v1.10.1): the body is
JSON; each batch item i gets seed + i; init_images are base64 images, one per batch item
when their count equals batch_size; the reply is {"images": [...], "parameters": ...,
"info": "<json string>"}; with more than one image and the return_grid option on (the
default) a grid comes first. Like the real request model (pydantic), unknown fields are
ignored and a field of the wrong type gets a 422 naming it.

Each returned image is the init image inverted, with the item's seed written into the
first pixel (as three bytes), so a test can check which seed each face got.
"""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from PIL import Image

TYPED_FIELDS = {
    "prompt": str, "negative_prompt": str, "seed": int, "batch_size": int, "n_iter": int,
    "steps": int, "cfg_scale": (int, float), "denoising_strength": (int, float), "width": int,
    "height": int, "resize_mode": int, "send_images": bool, "save_images": bool,
    "restore_faces": bool, "override_settings": dict, "init_images": list,
}


def _decode(text: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(text))).convert("RGB"))


def _encode(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class _Handler(BaseHTTPRequestHandler):
    server: FakeWebUI

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        if self.path != "/sdapi/v1/img2img":
            self._reply(404, {"detail": "Not Found"})
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)
        for name, kind in TYPED_FIELDS.items():
            if name in body and not isinstance(body[name], kind):
                self._reply(422, {"detail": [{"loc": ["body", name],
                                              "msg": "value is not a valid type"}]})
                return
        batch = int(body.get("batch_size", 1))
        inits = [_decode(item) for item in body["init_images"]]
        seed = int(body.get("seed", -1))
        outputs = []
        for i in range(batch):
            image = 255 - inits[i if len(inits) == batch else 0]
            image[0, 0] = list((seed + i).to_bytes(4, "big")[1:])
            outputs.append(image)
        images = [_encode(image) for image in outputs]
        return_grid = body.get("override_settings", {}).get("return_grid", True)
        if return_grid and batch > 1:
            images.insert(0, _encode(np.hstack(outputs)))
        self._reply(200, {"images": images, "parameters": body,
                          "info": json.dumps({"seed": seed})})

    def _reply(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class FakeWebUI(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def running_fake_webui() -> Iterator[FakeWebUI]:
    server = FakeWebUI()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def seed_in(image: np.ndarray) -> int:
    return int.from_bytes(bytes([0, *image[0, 0].tolist()]), "big")
