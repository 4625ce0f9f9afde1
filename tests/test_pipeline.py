"""The whole pipeline on real photos, with the identity processor and with stand-ins."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from lib_facepop.detect import SinglePassDetector
from lib_facepop.errors import FacePopError
from lib_facepop.face_pass import MainJob
from lib_facepop.masks import EllipseMaskSource
from lib_facepop.pipeline import FacePipeline
from lib_facepop.processors import FacePassParams, FaceTask, IdentityProcessor
from lib_facepop.settings import FacePopSettings
from tests.helpers import psnr, rotate_unclipped


class RecordingProcessor:
    """Paints every face flat grey and remembers what it was asked."""

    name = "recording"

    def __init__(self) -> None:
        self.calls: list[tuple[list[FaceTask], FacePassParams]] = []

    def process(self, tasks: Sequence[FaceTask], params: FacePassParams) -> list[np.ndarray]:
        self.calls.append((list(tasks), params))
        return [np.full_like(task.image, 128) for task in tasks]


def _pipeline(processor) -> FacePipeline:
    return FacePipeline(SinglePassDetector(), EllipseMaskSource(), processor)


@pytest.mark.parametrize("turn", [0, 30, -40])
def test_identity_round_trip_is_exact_outside_masks_and_close_inside(astronaut, turn) -> None:
    image = rotate_unclipped(astronaut, turn)[0] if turn else astronaut
    result = _pipeline(IdentityProcessor()).run(image, FacePopSettings(enabled=True))
    assert len(result.faces) == 1
    inside = result.face_mask > 0
    assert inside.sum() > 5000
    assert np.array_equal(result.image[~inside], image[~inside])
    assert psnr(result.image[inside], image[inside]) >= 40.0


def test_faces_are_aligned_upright_at_the_face_size(astronaut) -> None:
    turned = rotate_unclipped(astronaut, 40)[0]
    result = _pipeline(IdentityProcessor()).run(turned, FacePopSettings(enabled=True))
    prepared = result.faces[0].prepared
    assert prepared.aligned.image.shape == (720, 720, 3)
    aligned_eyes = prepared.aligned.landmarks_in_aligned()
    (lx, ly), (rx, ry) = aligned_eyes["left_eye"], aligned_eyes["right_eye"]
    assert abs(ly - ry) < 3.0 and rx > lx
    # No rotation below the threshold; 40 degrees is far above it.
    assert prepared.aligned.crop.angle == pytest.approx(prepared.face.roll)


def test_small_rolls_are_not_rotated_and_alignment_can_be_turned_off(astronaut) -> None:
    pipeline = _pipeline(IdentityProcessor())
    upright = pipeline.run(astronaut, FacePopSettings(enabled=True))
    assert upright.faces[0].prepared.aligned.crop.angle == 0.0  # roll -3.5 < 5
    turned = rotate_unclipped(astronaut, 40)[0]
    off = pipeline.run(turned, FacePopSettings(enabled=True, auto_align=False))
    assert off.faces[0].prepared.aligned.crop.angle == 0.0


def test_processed_faces_replace_the_face_and_nothing_else(astronaut) -> None:
    processor = RecordingProcessor()
    # Colour match off: the flat grey must arrive exactly as the processor made it.
    result = _pipeline(processor).run(astronaut, FacePopSettings(enabled=True,
                                                                 colour_match=False))
    face = result.faces[0].prepared.face
    cx, cy = (int(v) for v in face.center)
    assert np.all(result.image[cy, cx] == 128)
    outside = result.face_mask == 0
    assert np.array_equal(result.image[outside], astronaut[outside])
    # The soft edge blends: some pixels lie strictly between source and grey.
    edge = (result.face_mask > 0.2) & (result.face_mask < 0.8)
    assert edge.sum() > 100


def test_one_processor_call_per_image_with_prompts_seeds_and_overrides(astronaut) -> None:
    processor = RecordingProcessor()
    settings = FacePopSettings(enabled=True, separate_face_processing=True, face_steps=12,
                               face_cfg_scale=5.0, face_denoising_strength=0.3,
                               face_prompt="freckles")
    job = MainJob(prompt="photo", negative_prompt="cartoon", seed=1234)
    _pipeline(processor).run(astronaut, settings, job)
    assert len(processor.calls) == 1
    tasks, params = processor.calls[0]
    assert [(t.prompt, t.negative_prompt, t.seed) for t in tasks] == [
        ("freckles", "cartoon", 1234)]
    assert params == FacePassParams(steps=12, cfg_scale=5.0, denoising_strength=0.3,
                                    distilled_cfg_scale=3.5)


def test_without_separate_processing_the_face_pass_inherits_everything(astronaut) -> None:
    processor = RecordingProcessor()
    settings = FacePopSettings(enabled=True, face_prompt="ignored", face_steps=12)
    _pipeline(processor).run(astronaut, settings, MainJob(prompt="photo", seed=7))
    tasks, params = processor.calls[0]
    assert tasks[0].prompt == "photo" and params == FacePassParams()


def test_an_image_without_faces_comes_back_unchanged_and_no_pass_runs(coffee) -> None:
    processor = RecordingProcessor()
    result = _pipeline(processor).run(coffee, FacePopSettings(enabled=True))
    assert result.faces == [] and processor.calls == []
    assert np.array_equal(result.image, coffee)
    assert not result.face_mask.any()


def test_faces_outside_the_allowed_region_are_left_alone(astronaut) -> None:
    processor = RecordingProcessor()
    allowed = np.zeros(astronaut.shape[:2], bool)
    allowed[:, 400:] = True  # the face is around x = 224
    result = _pipeline(processor).run(astronaut, FacePopSettings(enabled=True),
                                      allowed=allowed)
    assert len(result.detected) == 1 and result.faces == []
    assert np.array_equal(result.image, astronaut)


def test_a_face_cut_by_the_border_is_processed_in_place(astronaut) -> None:
    cut = np.ascontiguousarray(astronaut[:, 186:])
    result = _pipeline(IdentityProcessor()).run(cut, FacePopSettings(enabled=True))
    assert len(result.faces) == 1
    crop = result.faces[0].prepared.aligned.crop
    assert crop.corners()[:, 0].min() < 0  # the crop reaches past the border ...
    inside = result.face_mask > 0
    assert psnr(result.image[inside], cut[inside]) >= 40.0  # ... and nothing shifted


class WrongCountProcessor:
    name = "wrong-count"

    def process(self, tasks, params):
        return []


class OddSizeProcessor:
    name = "odd-size"

    def process(self, tasks, params):
        return [np.zeros((100, 90, 4), np.uint8) for _ in tasks]


def test_a_processor_returning_the_wrong_number_of_faces_is_an_error(astronaut) -> None:
    with pytest.raises(FacePopError, match="returned 0 faces for 1"):
        _pipeline(WrongCountProcessor()).run(astronaut, FacePopSettings(enabled=True))


def test_processor_faces_of_another_size_or_mode_are_conformed(astronaut) -> None:
    result = _pipeline(OddSizeProcessor()).run(astronaut, FacePopSettings(enabled=True))
    assert result.faces[0].output.shape == (720, 720, 3)
