"""Shared fixtures: real photos that scikit-image ships, and helpers to place them."""

from __future__ import annotations

import os

import numpy as np
import pytest

# MediaPipe's native code logs to stderr; keep test output readable.
os.environ.setdefault("GLOG_minloglevel", "2")


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


@pytest.fixture(scope="session")
def coffee() -> np.ndarray:
    """A real photo with no face in it."""
    from skimage import data

    return np.ascontiguousarray(data.coffee())
