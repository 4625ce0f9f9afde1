"""The enhancement filters do what their names say, on a real face, before the pass."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import pytest

from lib_facepop.align import align_face
from lib_facepop.detect import DetectionOptions, SinglePassDetector
from lib_facepop.enhance import enhance
from lib_facepop.masks import EllipseMaskSource
from lib_facepop.pipeline import FacePipeline
from lib_facepop.processors import FacePassParams, FaceTask
from lib_facepop.settings import FacePopSettings


@pytest.fixture(scope="module")
def face(astronaut) -> np.ndarray:
    (found,) = SinglePassDetector().detect(astronaut, DetectionOptions.from_settings(
        FacePopSettings()))
    return align_face(astronaut, found, FacePopSettings()).image


def _sharpness(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())


def _error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(float) - b.astype(float)).mean())


def test_none_is_the_very_same_picture(face) -> None:
    assert enhance(face, "none") is face


def test_unsharp_mask_sharpens_and_keeps_the_colours(face) -> None:
    sharpened = enhance(face, "unsharp_mask")
    assert _sharpness(sharpened) > 1.5 * _sharpness(face)
    assert np.abs(sharpened.mean(axis=(0, 1)) - face.mean(axis=(0, 1))).max() < 2.0


def test_median_removes_speckles(face) -> None:
    rng = np.random.default_rng(3)
    speckled = face.copy()
    spots = rng.random(face.shape[:2]) < 0.03
    speckled[spots] = rng.choice([0, 255], size=(int(spots.sum()), 1))
    assert _error(enhance(speckled, "median"), face) < 0.4 * _error(speckled, face)


def test_bilateral_smooths_noise_but_keeps_edges(face) -> None:
    rng = np.random.default_rng(4)
    noisy = np.clip(face + rng.normal(0, 8, face.shape), 0, 255).astype(np.uint8)
    smoothed = enhance(noisy, "bilateral")
    assert _error(smoothed, face) < 0.75 * _error(noisy, face)
    edges = cv2.Canny(cv2.cvtColor(face, cv2.COLOR_RGB2GRAY), 100, 200) > 0
    assert _edge_strength(smoothed, edges) > 0.7 * _edge_strength(face, edges)
    # A plain blur of the same noise loses the edges: the check can fail.
    blurred = cv2.GaussianBlur(noisy, (0, 0), 3)
    assert _edge_strength(blurred, edges) < 0.7 * _edge_strength(face, edges)


def _edge_strength(image: np.ndarray, edges: np.ndarray) -> float:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    gradient = np.hypot(cv2.Sobel(grey, cv2.CV_64F, 1, 0), cv2.Sobel(grey, cv2.CV_64F, 0, 1))
    return float(gradient[edges].mean())


def test_filters_scale_with_the_face_size(face) -> None:
    small = cv2.resize(face, (128, 128), interpolation=cv2.INTER_AREA)
    for name in ("unsharp_mask", "bilateral", "median"):
        assert enhance(small, name).shape == small.shape
    with pytest.raises(ValueError, match="unknown enhancement filter"):
        enhance(face, "emboss")


class Recording:
    name = "recording"

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []

    def process(self, tasks: Sequence[FaceTask], params: FacePassParams) -> list[np.ndarray]:
        self.seen += [task.image for task in tasks]
        return [task.image for task in tasks]


def test_the_face_pass_sees_the_filtered_face_and_the_mask_the_unfiltered(astronaut) -> None:
    processor = Recording()
    pipeline = FacePipeline(SinglePassDetector(), EllipseMaskSource(), processor)
    settings = FacePopSettings(enabled=True, enhance_filter="unsharp_mask")
    (face,) = pipeline.run(astronaut, settings).faces
    aligned = face.prepared.aligned.image
    assert np.array_equal(processor.seen[0], enhance(aligned, "unsharp_mask"))
    assert face.prepared.pass_input is not aligned
