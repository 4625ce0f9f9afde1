"""The eyes: crops that land on the eyes at any roll, one eyes pass for all faces with its
own prompt and params, blended through a soft eye mask; keep original eyes."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pytest

from lib_facepop.align import align_face
from lib_facepop.detect import DetectionOptions, SinglePassDetector, create_detector
from lib_facepop.eyes import eyes_region
from lib_facepop.face_pass import MainJob
from lib_facepop.faces import Face
from lib_facepop.masks import EllipseMaskSource
from lib_facepop.notices import Notices
from lib_facepop.pipeline import FacePipeline
from lib_facepop.processors import FacePassParams, FaceTask, IdentityProcessor
from lib_facepop.processors.stylize import StylizeProcessor
from lib_facepop.settings import FacePopSettings
from lib_facepop.upscale import LanczosUpscaler, cut_upright
from lib_facepop.warp import warp
from tests.detect.detect_scenes import turn_unclipped
from tests.helpers import psnr

# Face-mesh iris centres (refined landmarks): the viewer's left eye, then the right one.
IRIS_CENTRES = (468, 473)
EYES_SIZE = (512, 256)
FACE_GREY = 128
EYES_GREEN = (0, 255, 0)


def _eyes_crop(image: np.ndarray, turn: float, settings: FacePopSettings):
    """(aligned face, eyes region, eyes crop image) of the astronaut turned by ``turn``."""
    turned = turn_unclipped(image, turn)[0] if turn else image  # black corners
    detector = create_detector(FacePopSettings())  # aggressive: any roll
    faces = detector.detect(turned, DetectionOptions.from_settings(settings))
    assert len(faces) == 1
    aligned = align_face(turned, faces[0], settings, LanczosUpscaler(), Notices())
    region = eyes_region(aligned, settings.eyes_size)
    assert region is not None
    crop = cut_upright(aligned.image, region.crop, LanczosUpscaler(), Notices())[0]
    return aligned, region, crop


@pytest.mark.parametrize("auto_align", [True, False])
def test_eye_crops_land_on_the_eyes_at_any_roll(astronaut, auto_align) -> None:
    settings = FacePopSettings(auto_align=auto_align)
    _, _, upright_crop = _eyes_crop(astronaut, 0, settings)
    for turn in (0, 35, -70, 180):
        aligned, region, crop = _eyes_crop(astronaut, turn, settings)
        assert crop.shape == (256, 512, 3) and region.mask.shape == (256, 512)
        irises = region.crop.to_aligned().apply(aligned.mesh_in_aligned()[list(IRIS_CENTRES)])
        (lx, ly), (rx, ry) = irises
        # Upright in the crop even where the face crop itself was not turned.
        assert rx > lx and abs(ly - ry) < 3.0, (turn, irises)
        for x, y in irises:
            assert region.mask[int(y), int(x)] > 0.99, (turn, x, y)
        # Soft, and nothing at the crop's border.
        assert 0 < (region.mask > 0.5).mean() < 0.35
        assert region.mask[[0, -1], :].max() == 0 and region.mask[:, [0, -1]].max() == 0
        # The same eyes as in the upright photo: the crop shows what the landmarks say.
        assert psnr(crop, upright_crop) > 22.0, turn
    # A crop beside the eyes would not: the check above can fail.
    assert psnr(np.roll(upright_crop, 60, axis=1), upright_crop) < 20.0


def test_mask_in_the_face_frame_covers_the_eyes_and_nothing_else(astronaut) -> None:
    aligned, region, _ = _eyes_crop(astronaut, 35, FacePopSettings())
    in_face = region.mask_in_face(aligned.size)
    mesh = aligned.mesh_in_aligned()
    for index in IRIS_CENTRES:
        x, y = mesh[index]
        assert in_face[int(y), int(x)] > 0.99
    for index in (1, 13, 152, 10):  # nose tip, lips, chin, forehead
        x, y = mesh[index]
        assert in_face[int(y), int(x)] == 0.0, index


class PaintingProcessor:
    """Paints faces flat grey and eyes crops flat green; remembers every call."""

    name = "painter"

    def __init__(self) -> None:
        self.calls: list[tuple[list[FaceTask], FacePassParams]] = []

    def process(self, tasks: Sequence[FaceTask], params: FacePassParams) -> list[np.ndarray]:
        self.calls.append((list(tasks), params))
        eyes = tasks[0].image.shape[:2] == (EYES_SIZE[1], EYES_SIZE[0])
        fill = EYES_GREEN if eyes else (FACE_GREY,) * 3
        return [np.full_like(task.image, fill) for task in tasks]


def _three_faces(astronaut) -> np.ndarray:
    return np.ascontiguousarray(np.hstack([astronaut] * 3))


EYES_SETTINGS = FacePopSettings(
    enabled=True, colour_match=False, eyes_pass=True, separate_face_processing=True,
    face_prompt="left [SEP] middle [SEP] right", eyes_prompt="[PROMPT], clear iris",
    eyes_negative_prompt="blurry", eyes_steps=11, eyes_cfg_scale=4.5,
    eyes_denoising_strength=0.25, max_faces=0, face_order="left_to_right")


def test_all_faces_eyes_go_in_one_processor_call_with_their_own_prompts(astronaut) -> None:
    processor = PaintingProcessor()
    pipeline = FacePipeline(SinglePassDetector(), EllipseMaskSource(), processor)
    result = pipeline.run(_three_faces(astronaut), EYES_SETTINGS,
                          MainJob(prompt="photo", negative_prompt="cartoon", seed=40))
    assert len(result.faces) == 3
    assert len(processor.calls) == 2  # the face pass, then ONE eyes pass
    (faces, face_params), (eyes, eyes_params) = processor.calls
    assert [t.image.shape for t in faces] == [(720, 720, 3)] * 3
    assert [t.image.shape for t in eyes] == [(256, 512, 3)] * 3
    assert [(t.index, t.seed) for t in eyes] == [(t.index, t.seed) for t in faces]
    assert [t.prompt for t in eyes] == ["left, clear iris", "middle, clear iris",
                                        "right, clear iris"]
    assert [t.negative_prompt for t in eyes] == ["blurry"] * 3
    assert eyes_params == FacePassParams(steps=11, cfg_scale=4.5, denoising_strength=0.25,
                                         always_on_scripts=False)
    assert face_params.always_on_scripts


def test_processed_eyes_are_blended_into_the_face_through_the_eye_mask(astronaut) -> None:
    processor = PaintingProcessor()
    pipeline = FacePipeline(SinglePassDetector(), EllipseMaskSource(), processor)
    (face,) = pipeline.run(astronaut, EYES_SETTINGS).faces
    mesh = face.prepared.aligned.mesh_in_aligned()
    for index in IRIS_CENTRES:
        x, y = mesh[index]
        assert tuple(face.output[int(y), int(x)]) == EYES_GREEN
    outside = face.eyes.mask_in_face == 0
    assert outside.mean() > 0.9
    assert np.all(face.output[outside] == FACE_GREY)
    edge = (face.eyes.mask_in_face > 0.2) & (face.eyes.mask_in_face < 0.8)
    assert edge.sum() > 100  # soft: green and grey mix there
    assert face.eyes.processed is not None and face.eyes.task is not None


def test_keep_original_eyes_puts_the_source_eyes_back(astronaut) -> None:
    processor = PaintingProcessor()
    pipeline = FacePipeline(SinglePassDetector(), EllipseMaskSource(), processor)
    keep = EYES_SETTINGS.replace(eyes_pass=False, keep_original_eyes=True)
    (face,) = pipeline.run(astronaut, keep).faces
    assert len(processor.calls) == 1  # no eyes pass
    source = face.prepared.aligned.image
    full = face.eyes.mask_in_face >= 0.999
    assert full.sum() > 500
    assert np.array_equal(face.output[full], source[full])
    outside = face.eyes.mask_in_face == 0
    assert np.all(face.output[outside] == FACE_GREY)
    assert face.eyes.processed is None and face.eyes.kept_original

    # With the eyes pass too, the eyes pass refines the ORIGINAL eyes: its crop shows the
    # source's eyes, not the grey the face pass painted.
    processor = PaintingProcessor()
    both = FacePipeline(SinglePassDetector(), EllipseMaskSource(), processor)
    (face,) = both.run(astronaut, keep.replace(eyes_pass=True)).faces
    eyes_task = processor.calls[1][0][0]
    source_eyes = cut_upright(source, face.eyes.region.crop, LanczosUpscaler(), Notices())[0]
    inside = face.eyes.region.mask > 0.99
    assert psnr(eyes_task.image[inside], source_eyes[inside]) > 40.0


def test_a_face_without_landmarks_keeps_its_eyes_said_once(astronaut, caplog) -> None:
    class NoMeshDetector:
        def detect(self, image, options):
            faces = SinglePassDetector().detect(image, options)
            return [Face(region=f.region, score=f.score, landmarks=f.landmarks, mesh=None)
                    for f in faces]

    processor = PaintingProcessor()
    pipeline = FacePipeline(NoMeshDetector(), EllipseMaskSource(), processor)
    with caplog.at_level(logging.INFO):
        result = pipeline.run(_three_faces(astronaut), EYES_SETTINGS)
    assert len(result.faces) == 3 and len(processor.calls) == 1
    assert all(f.eyes is None for f in result.faces)
    said = [r for r in caplog.records if "eye landmarks" in r.getMessage()]
    assert len(said) == 1


@pytest.mark.parametrize("processor", [IdentityProcessor(), StylizeProcessor()],
                         ids=["identity", "stylize"])
def test_local_processors_work_with_the_eyes_pass(astronaut, processor) -> None:
    settings = FacePopSettings(enabled=True, eyes_pass=True, keep_original_eyes=True)
    pipeline = FacePipeline(SinglePassDetector(), EllipseMaskSource(), processor)
    result = pipeline.run(astronaut, settings)
    (face,) = result.faces
    assert face.eyes is not None and face.eyes.processed.shape == (256, 512, 3)
    inside = result.face_mask > 0
    assert np.array_equal(result.image[~inside], astronaut[~inside])
    if processor.name == "none":
        # Original eyes, an identity eyes pass: the face comes back within resampling.
        assert psnr(result.image[inside], astronaut[inside]) >= 38.0


def test_eyes_mask_warps_back_where_the_eyes_are(astronaut) -> None:
    aligned, region, crop = _eyes_crop(astronaut, 0, FacePopSettings())
    # The eyes crop pasted back into the face frame through its own map matches the face.
    back = warp(crop, region.crop.to_aligned().inverse(), aligned.size, border="zero")
    inside = region.mask_in_face(aligned.size) > 0.99
    assert psnr(back[inside], aligned.image[inside]) > 35.0
