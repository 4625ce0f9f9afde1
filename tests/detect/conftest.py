"""Fixtures of the detection tests: real photos that scikit-image ships, placed in frames."""

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
def small_astronaut(astronaut: np.ndarray) -> np.ndarray:
    """The astronaut at 320 px (her face about 62 px): quicker to search, same face."""
    import cv2

    return cv2.resize(astronaut, (320, 320), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="session")
def aggressive():
    from lib_facepop.detect import AggressiveDetector

    return AggressiveDetector()


@pytest.fixture(scope="session")
def upright_face(aggressive, small_astronaut):
    """The astronaut's face found in the upright photo: the reference for turned copies."""
    from lib_facepop.detect import DetectionOptions

    faces = aggressive.detect(small_astronaut, DetectionOptions())
    assert len(faces) == 1, faces
    return faces[0]
