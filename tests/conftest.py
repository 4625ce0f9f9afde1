"""Shared fixtures: real photos that scikit-image ships, and helpers to place them."""

from __future__ import annotations

import os

import numpy as np
import pytest

# The `webui` fixture: FacePop inside a test double of the A1111 v1.10.1 WebUI.
pytest_plugins = ["tests.webui_double_fixtures"]

# MediaPipe's native code logs to stderr; keep test output readable.
os.environ.setdefault("GLOG_minloglevel", "2")


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


@pytest.fixture(scope="session")
def three_faces(astronaut):
    """Three copies of the astronaut side by side (1536x512): three faces in one image."""
    from PIL import Image

    return Image.fromarray(np.hstack([astronaut] * 3))


@pytest.fixture(scope="session")
def coffee() -> np.ndarray:
    """A real photo with no face in it."""
    from skimage import data

    return np.ascontiguousarray(data.coffee())


@pytest.fixture(scope="session")
def grace_hopper() -> np.ndarray:
    """Grace Hopper's portrait (public domain), as matplotlib ships it."""
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        return np.asarray(Image.open(f).convert("RGB"))


@pytest.fixture(scope="session")
def camera() -> np.ndarray:
    """scikit-image's cameraman (a grey photo with a small face), as RGB."""
    from skimage import data

    return np.ascontiguousarray(np.repeat(data.camera()[:, :, None], 3, axis=2))


@pytest.fixture(scope="session")
def random_modnet():
    """MODNet with random (seeded) weights, in eval mode. Do not modify it in a test."""
    from modnet.architecture import build_random_modnet

    return build_random_modnet(seed=0)


@pytest.fixture(scope="session")
def random_onnx(tmp_path_factory, random_modnet):
    """The ONNX export of ``random_modnet`` (exported once per test session)."""
    from modnet.export import export_onnx

    return export_onnx(random_modnet, tmp_path_factory.mktemp("onnx") / "modnet-random.onnx")
