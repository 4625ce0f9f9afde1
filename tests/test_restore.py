"""Face restoration through a host's restorer: upright crops at the face size in, mixed
back at its visibility; a missing or failing restorer is said once and costs nothing."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from lib_facepop.blend import mix
from lib_facepop.detect import SinglePassDetector
from lib_facepop.faces import roll_from_eyes
from lib_facepop.masks import EllipseMaskSource
from lib_facepop.pipeline import FacePipeline
from lib_facepop.processors import IdentityProcessor
from lib_facepop.settings import FacePopSettings
from lib_facepop.tools import FaceTools
from tests.helpers import psnr, rotate_unclipped


class RecordingRestorer:
    """Inverts each face (a change anyone can see) and remembers what it was given."""

    def __init__(self, name: str = "CodeFormer", size: int | None = None) -> None:
        self.name = name
        self.size = size
        self.calls: list[tuple[np.ndarray, float]] = []

    def restore(self, image: np.ndarray, fidelity: float) -> np.ndarray:
        self.calls.append((image.copy(), fidelity))
        out = 255 - image
        return out if self.size is None else np.resize(out, (self.size, self.size, 3))


class BrokenRestorer:
    name = "GFPGAN"

    def restore(self, image, fidelity):
        raise RuntimeError("GFPGANv1.4.pth is missing")


def _pipeline(tools: FaceTools) -> FacePipeline:
    return FacePipeline(SinglePassDetector(), EllipseMaskSource(), IdentityProcessor(),
                        tools=tools)


SETTINGS = FacePopSettings(enabled=True, face_restoration="codeformer",
                           codeformer_weight=0.55, colour_match=False)


def test_the_restorer_gets_each_upright_processed_face_and_its_fidelity(astronaut) -> None:
    turned = rotate_unclipped(astronaut, 40)[0]
    image = np.ascontiguousarray(np.hstack([astronaut, astronaut]))
    restorer = RecordingRestorer()
    for picture, count in ((image, 2), (turned, 1)):
        restorer.calls.clear()
        result = _pipeline(FaceTools(restorers={"codeformer": restorer})).run(picture,
                                                                               SETTINGS)
        assert len(restorer.calls) == count == len(result.faces)
        for (given, fidelity), face in zip(restorer.calls, result.faces, strict=True):
            assert fidelity == 0.55
            assert given.shape == (720, 720, 3)
            assert np.array_equal(given, face.pass_output)
            eyes = face.prepared.aligned.landmarks_in_aligned()
            # Upright: tilted less than the rotation threshold (5 degrees).
            assert abs(roll_from_eyes(eyes["left_eye"], eyes["right_eye"])) < 5.0
            assert np.array_equal(face.restored, 255 - face.pass_output)
            assert face.output is face.restored


@pytest.mark.parametrize("visibility", [0.0, 0.35, 1.0])
def test_visibility_mixes_the_restored_face_in(astronaut, visibility) -> None:
    restorer = RecordingRestorer()
    settings = SETTINGS.replace(restore_visibility=visibility)
    (face,) = _pipeline(FaceTools(restorers={"codeformer": restorer})).run(
        astronaut, settings).faces
    assert np.array_equal(face.restored, mix(face.pass_output, 255 - face.pass_output,
                                             visibility))
    if visibility == 0.0:
        assert np.array_equal(face.output, face.pass_output)


def test_a_restored_face_of_another_size_is_brought_to_the_face_size(astronaut) -> None:
    restorer = RecordingRestorer(size=512)
    (face,) = _pipeline(FaceTools(restorers={"codeformer": restorer})).run(
        astronaut, SETTINGS).faces
    assert face.restored.shape == (720, 720, 3)


@pytest.mark.parametrize("returned", [None, 512])
def test_a_face_taller_than_wide_is_restored_at_its_own_size(astronaut, returned) -> None:
    restorer = RecordingRestorer(size=returned)  # None: the size it was given
    settings = SETTINGS.replace(face_width=512, face_height=768, restore_visibility=0.5)
    (face,) = _pipeline(FaceTools(restorers={"codeformer": restorer})).run(
        astronaut, settings).faces
    ((given, _),) = restorer.calls
    assert given.shape == face.pass_output.shape == (768, 512, 3)
    assert face.restored.shape == (768, 512, 3)
    if returned is None:
        assert np.array_equal(face.restored, mix(face.pass_output, 255 - face.pass_output,
                                                 0.5))


def test_a_failing_restorer_is_said_once_and_costs_nothing(astronaut, caplog) -> None:
    image = np.ascontiguousarray(np.hstack([astronaut, astronaut]))
    settings = SETTINGS.replace(face_restoration="gfpgan")
    pipeline = _pipeline(FaceTools(restorers={"gfpgan": BrokenRestorer()}))
    with caplog.at_level(logging.WARNING):
        result = pipeline.run(image, settings)
        pipeline.run(image, settings)
    said = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(said) == 1 and "GFPGANv1.4.pth is missing" in said[0].getMessage()
    assert len(result.faces) == 2 and all(f.restored is None for f in result.faces)
    inside = result.face_mask > 0
    assert np.array_equal(result.image[~inside], image[~inside])
    assert psnr(result.image[inside], image[inside]) >= 40.0


def test_restoration_without_a_restorer_is_said_once_and_skipped(astronaut, caplog) -> None:
    pipeline = _pipeline(FaceTools())
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            (face,) = pipeline.run(astronaut, SETTINGS).faces
    said = [r for r in caplog.records if "not available" in r.getMessage()]
    assert len(said) == 1 and "CodeFormer" in said[0].getMessage()
    assert face.restored is None and face.output is face.pass_output


def test_no_restoration_asked_means_no_restorer_call(astronaut) -> None:
    restorer = RecordingRestorer()
    _pipeline(FaceTools(restorers={"codeformer": restorer})).run(
        astronaut, SETTINGS.replace(face_restoration="none"))
    assert restorer.calls == []
