"""Helpers shared by tests."""

from __future__ import annotations

import base64
import contextlib
import json
import math
import socket
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np


def rotate_unclipped(image: np.ndarray, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """Turn an image counter-clockwise on screen on a canvas that clips nothing.

    Returns the turned image and the 2x3 matrix (OpenCV pixel-centre convention) that maps
    source pixel indices to turned ones.
    """
    h, w = image.shape[:2]
    r = math.radians(degrees)
    new_w = int(math.ceil(abs(w * math.cos(r)) + abs(h * math.sin(r))))
    new_h = int(math.ceil(abs(w * math.sin(r)) + abs(h * math.cos(r))))
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), degrees, 1.0)
    matrix[0, 2] += (new_w - w) / 2.0
    matrix[1, 2] += (new_h - h) / 2.0
    turned = cv2.warpAffine(image, matrix, (new_w, new_h), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REFLECT_101)
    return turned, matrix


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    diff = a.astype(np.float64) - b.astype(np.float64)
    mse = float(np.mean(diff ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(255.0 ** 2 / mse)


@contextlib.contextmanager
def serving(app) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port; yields its base URL."""
    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def post_json(url: str, body: object, timeout: float = 120) -> tuple[int, dict]:
    """POST a JSON body; (HTTP status, JSON reply), also for error statuses."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def write_extension(folder: Path, name: str, script: str) -> Path:
    """A WebUI extension folder holding one scripts/<name>.py; returns the folder."""
    root = folder / name
    (root / "scripts").mkdir(parents=True, exist_ok=True)
    (root / "scripts" / f"{name}.py").write_text(textwrap.dedent(script))
    return root


def basic_auth(user: str, password: str) -> dict[str, str]:
    """The Authorization header of HTTP Basic authentication."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def http_call(url: str, body: object | None = None, headers: dict[str, str] | None = None
              ) -> tuple[int, dict, dict]:
    """(status, JSON reply, response headers) of a GET (no body) or a JSON POST."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if body is None else "POST",
                                     headers={"Content-Type": "application/json",
                                              **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), dict(exc.headers)
