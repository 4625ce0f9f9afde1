"""Small faces are cut out upright at their own resolution and enlarged by an upscaler; the
map to the crop, and so the paste-back, stays exact."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from lib_facepop.align import align_face, crop_for
from lib_facepop.detect import DetectionOptions, SinglePassDetector
from lib_facepop.masks import EllipseMaskSource
from lib_facepop.notices import Notices
from lib_facepop.pipeline import FacePipeline
from lib_facepop.processors import IdentityProcessor
from lib_facepop.settings import FacePopSettings
from lib_facepop.tools import FaceTools
from lib_facepop.upscale import LanczosUpscaler, resolve_upscaler
from lib_facepop.warp import warp
from tests.helpers import psnr, rotate_unclipped


class RecordingUpscaler:
    """Lanczos, remembering what it was given; ``factor`` returns a fixed-scale result
    (like a 4x model) instead of the size asked for."""

    def __init__(self, name: str = "Recorder", factor: int | None = None) -> None:
        self.name = name
        self.factor = factor
        self.calls: list[tuple[tuple[int, ...], tuple[int, int]]] = []

    def upscale(self, image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        self.calls.append((image.shape, size))
        if self.factor is not None:
            size = (image.shape[1] * self.factor, image.shape[0] * self.factor)
        return cv2.resize(image, size, interpolation=cv2.INTER_LANCZOS4)


class BrokenUpscaler:
    name = "Broken"

    def upscale(self, image, size):
        raise RuntimeError("no model weights")


@pytest.fixture(scope="module")
def turned(astronaut) -> np.ndarray:
    return rotate_unclipped(astronaut, 40)[0]


@pytest.fixture(scope="module")
def turned_face(turned):
    (face,) = SinglePassDetector().detect(turned, DetectionOptions.from_settings(
        FacePopSettings()))
    return face


def _back_in_source(aligned, shape) -> tuple[np.ndarray, np.ndarray]:
    """The aligned picture warped back into the source, and where it covers the source."""
    height, width = shape[:2]
    back = warp(aligned.image, aligned.transform.inverse(), (width, height), border="zero")
    inside = warp(np.ones(aligned.image.shape[:2], np.float32), aligned.transform.inverse(),
                  (width, height), border="zero", interpolation="linear")
    # Away from the crop's edge, where the zero border does not bleed in.
    return back, cv2.erode((inside > 0.999).astype(np.uint8), np.ones((9, 9))) > 0


def test_the_upscaler_gets_the_upright_crop_at_its_own_resolution(turned, turned_face
                                                                  ) -> None:
    settings = FacePopSettings()
    upscaler = RecordingUpscaler()
    aligned = align_face(turned, turned_face, settings, upscaler, Notices())
    crop = crop_for(turned_face, settings)
    ((shape, size),) = upscaler.calls
    assert size == (720, 720) and aligned.image.shape == (720, 720, 3)
    assert shape == (round(crop.size[1]), round(crop.size[0]), 3)
    assert shape[0] < 720  # the face really is smaller than the face size
    assert aligned.upscaler == "Recorder"
    # The same upright picture as the one-step resampling (eyes level, see test_pipeline).
    direct = align_face(turned, turned_face, settings)
    assert direct.upscaler is None
    assert psnr(aligned.image, direct.image) >= 30.0
    eyes = aligned.landmarks_in_aligned()
    assert abs(eyes["left_eye"][1] - eyes["right_eye"][1]) < 3.0


@pytest.mark.parametrize("factor", [None, 4])
def test_an_enlarged_crop_maps_back_onto_the_source_exactly(turned, turned_face, factor
                                                            ) -> None:
    upscaler = RecordingUpscaler(factor=factor)
    aligned = align_face(turned, turned_face, FacePopSettings(), upscaler, Notices())
    assert aligned.image.shape == (720, 720, 3)  # a 4x result is brought to the face size
    back, inside = _back_in_source(aligned, turned.shape)
    # Shifted by even half a pixel, the turned photo would fall far below this.
    assert psnr(back[inside], turned[inside]) >= 34.0


def test_faces_larger_than_the_face_size_are_not_enlarged(astronaut) -> None:
    (face,) = SinglePassDetector().detect(astronaut, DetectionOptions.from_settings(
        FacePopSettings()))
    upscaler = RecordingUpscaler()
    small = FacePopSettings(face_width=128, face_height=128)
    aligned = align_face(astronaut, face, small, upscaler, Notices())
    assert upscaler.calls == [] and aligned.upscaler is None


def test_a_crop_that_grows_on_one_axis_and_shrinks_on_the_other_is_enlarged(astronaut
                                                                             ) -> None:
    """keep_aspect_ratio off: the crop keeps the face's own proportions, the face size is
    wide and flat, so the crop is enlarged across and reduced down; the upscaler still
    brings out the detail the wider axis needs."""
    (face,) = SinglePassDetector().detect(astronaut, DetectionOptions.from_settings(
        FacePopSettings()))
    settings = FacePopSettings(keep_aspect_ratio=False, face_width=1024, face_height=96)
    crop = crop_for(face, settings)
    assert crop.size[0] < 1024 and crop.size[1] > 96
    assert abs(crop.size[0] / crop.size[1] - 1024 / 96) > 5  # not grown to the aspect
    upscaler = RecordingUpscaler()
    aligned = align_face(astronaut, face, settings, upscaler, Notices())
    ((shape, size),) = upscaler.calls
    assert size == (1024, 96) and shape == (round(crop.size[1]), round(crop.size[0]), 3)
    assert aligned.image.shape == (96, 1024, 3) and aligned.upscaler == "Recorder"


def test_upscaler_names_resolve_to_built_ins_or_the_hosts(caplog) -> None:
    host = RecordingUpscaler("R-ESRGAN 4x+")
    tools = FaceTools(upscalers={"R-ESRGAN 4x+": host})
    notices = Notices()
    assert isinstance(resolve_upscaler("Lanczos", tools, notices), LanczosUpscaler)
    assert isinstance(resolve_upscaler(" ", tools, notices), LanczosUpscaler)
    assert resolve_upscaler("None", tools, notices) is None
    assert resolve_upscaler("r-esrgan 4X+", tools, notices) is host
    assert caplog.records == []
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            assert isinstance(resolve_upscaler("SwinIR 4x", tools, notices), LanczosUpscaler)
    (record,) = caplog.records
    assert "'SwinIR 4x' is not available" in record.getMessage()
    assert "R-ESRGAN 4x+" in record.getMessage()


def test_a_failing_upscaler_is_said_once_and_costs_nothing(astronaut, caplog) -> None:
    image = np.ascontiguousarray(np.hstack([astronaut, astronaut]))
    tools = FaceTools(upscalers={"Broken": BrokenUpscaler()})
    pipeline = FacePipeline(SinglePassDetector(), EllipseMaskSource(), IdentityProcessor(),
                            tools=tools)
    with caplog.at_level(logging.WARNING):
        result = pipeline.run(image, FacePopSettings(enabled=True, upscaler="broken"))
    assert len(result.faces) == 2
    failures = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == 1 and "no model weights" in failures[0].getMessage()
    assert [f.prepared.aligned.upscaler for f in result.faces] == ["Lanczos"] * 2
    inside = result.face_mask > 0
    assert np.array_equal(result.image[~inside], image[~inside])
    assert psnr(result.image[inside], image[inside]) >= 40.0


@pytest.mark.parametrize("upscaler", ["Lanczos", "None"])
def test_identity_round_trip_holds_with_either_way_of_enlarging(turned, upscaler) -> None:
    pipeline = FacePipeline(SinglePassDetector(), EllipseMaskSource(), IdentityProcessor())
    result = pipeline.run(turned, FacePopSettings(enabled=True, upscaler=upscaler))
    inside = result.face_mask > 0
    assert np.array_equal(result.image[~inside], turned[~inside])
    assert psnr(result.image[inside], turned[inside]) >= 40.0
