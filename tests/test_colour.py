"""Colour match on real photos: a face pass that shifts colour leaves no tinted patch, and
what the pass changes inside the face stays."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from lib_facepop.colour import fit_colour_map, match_colour, ring_weights
from lib_facepop.detect import SinglePassDetector
from lib_facepop.masks import EllipseMaskSource, SelfieMaskSource
from lib_facepop.pipeline import FacePipeline
from lib_facepop.processors import FacePassParams, FaceTask, IdentityProcessor
from lib_facepop.processors.shift import SHIFTS, ColourShift, ColourShiftProcessor
from lib_facepop.seam import seam_band, seam_colour_difference
from lib_facepop.settings import FacePopSettings

SETTINGS = FacePopSettings(enabled=True)


def _seam(pipeline: FacePipeline, analysed, colour_match: bool) -> float:
    result = pipeline.finish(analysed, SETTINGS.replace(colour_match=colour_match))
    return seam_colour_difference(result.source, result.image, result.face_mask)


@pytest.mark.parametrize("photo", ["astronaut", "grace_hopper", "camera"])
def test_colour_match_removes_the_seam_a_colour_shift_leaves(photo, request) -> None:
    image = request.getfixturevalue(photo)
    for shift in SHIFTS:
        pipeline = FacePipeline(SinglePassDetector(), EllipseMaskSource(),
                                ColourShiftProcessor(shift))
        analysed = pipeline.analyse(image, SETTINGS)
        assert len(analysed.faces) == 1
        off, on = _seam(pipeline, analysed, False), _seam(pipeline, analysed, True)
        # Measured (bench/bench_colour_match.py): off 2.9-11, on 0.03-1.6 CIEDE2000.
        assert off > 3.0, shift.name
        assert on < 0.35 * off and on < 2.0, (shift.name, off, on)


def test_colour_match_with_a_person_matte(astronaut) -> None:
    pipeline = FacePipeline(SinglePassDetector(), SelfieMaskSource(),
                            ColourShiftProcessor(SHIFTS[0]))
    analysed = pipeline.analyse(astronaut, SETTINGS)
    off, on = _seam(pipeline, analysed, False), _seam(pipeline, analysed, True)
    assert on < 0.35 * off and on < 2.0, (off, on)


def test_identity_faces_are_left_exactly_as_they_are(astronaut) -> None:
    pipeline = FacePipeline(SinglePassDetector(), EllipseMaskSource(), IdentityProcessor())
    (face,) = pipeline.run(astronaut, SETTINGS).faces
    assert face.colour_matched is face.pass_output


class InteriorChange:
    """Darkens and reddens a disc in the middle of each face (well inside every mask),
    then applies ``shift`` (if any) to the whole crop: a real change plus a tint."""

    name = "interior"

    def __init__(self, shift: ColourShift | None = None) -> None:
        self.shift = shift

    def changed(self, image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        ys, xs = np.mgrid[:height, :width]
        disc = (xs - width / 2) ** 2 + (ys - height / 2) ** 2 < (0.15 * width) ** 2
        out = image.astype(np.float32)
        out[disc] = out[disc] * 0.6 + np.array([60.0, 0.0, 0.0])
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)

    def process(self, tasks: Sequence[FaceTask], params: FacePassParams) -> list[np.ndarray]:
        faces = [self.changed(task.image) for task in tasks]
        return [self.shift.apply(f) if self.shift else f for f in faces]


def test_what_the_face_pass_changes_inside_the_face_stays(astronaut) -> None:
    untinted = FacePipeline(SinglePassDetector(), EllipseMaskSource(), InteriorChange())
    (face,) = untinted.run(astronaut, SETTINGS).faces
    # The ring did not change, so nothing is corrected: the darker disc stays as made.
    assert face.colour_matched is face.pass_output

    tinted = FacePipeline(SinglePassDetector(), EllipseMaskSource(),
                          InteriorChange(SHIFTS[0]))
    (face,) = tinted.run(astronaut, SETTINGS).faces
    wanted = InteriorChange().changed(face.prepared.aligned.image)
    height, width = wanted.shape[:2]
    centre = (slice(height // 2 - 40, height // 2 + 40), slice(width // 2 - 40, width // 2 + 40))
    error_before = np.abs(face.pass_output[centre].astype(float) - wanted[centre]).mean()
    error_after = np.abs(face.colour_matched[centre].astype(float) - wanted[centre]).mean()
    # The tint is gone from the changed disc too, and the change itself is kept.
    assert error_after < 0.3 * error_before and error_after < 6.0, (error_before,
                                                                     error_after)


def test_the_fit_recovers_a_known_lab_shift_from_the_ring_alone(astronaut) -> None:
    pipeline = FacePipeline(SinglePassDetector(), EllipseMaskSource(), IdentityProcessor())
    (prepared,) = pipeline.analyse(astronaut, SETTINGS).faces
    source, mask = prepared.aligned.image, prepared.mask.mask
    # Garbage where the mask is full: the fit must not look there.
    garbage = source.copy()
    garbage[mask >= 0.99] = (0, 255, 0)
    tinted = ColourShift("green", offset=(-6, 14, -6)).apply(garbage)
    colour_map = fit_colour_map(tinted, source, mask)
    assert colour_map is not None
    matched = match_colour(tinted, source, mask)
    ring = ring_weights(mask) > 0.5
    assert np.abs(matched[ring].astype(float) - source[ring]).mean() < 2.0
    assert np.abs(tinted[ring].astype(float) - source[ring]).mean() > 7.0


def test_a_mask_without_a_soft_edge_is_left_alone(astronaut) -> None:
    hard = np.zeros(astronaut.shape[:2], np.float32)
    hard[100:300, 100:300] = 1.0
    tinted = SHIFTS[0].apply(astronaut)
    assert match_colour(tinted, astronaut, hard) is tinted
    assert not seam_band(hard).any()
    with pytest.raises(ValueError, match="no soft edge"):
        seam_colour_difference(astronaut, tinted, hard)


def test_an_inverted_face_is_another_picture_not_a_tint(astronaut) -> None:
    class Inverting:
        name = "inverting"

        def process(self, tasks, params):
            return [255 - task.image for task in tasks]

    pipeline = FacePipeline(SinglePassDetector(), EllipseMaskSource(), Inverting())
    (face,) = pipeline.run(astronaut, SETTINGS).faces
    assert face.colour_matched is face.pass_output
