"""Face masks: the feathered region, MODNet and selfie mattes, and the fallback chain."""

from __future__ import annotations

import logging
import shutil

import numpy as np
import pytest

from lib_facepop.align import align_face
from lib_facepop.detect import SinglePassDetector
from lib_facepop.detect.base import DetectionOptions
from lib_facepop.masks import (
    EllipseMaskSource,
    ModnetMaskSource,
    SelfieMaskSource,
    create_mask_source,
    feathered_face_region,
)
from lib_facepop.masks.background import NEUTRAL_FILL
from lib_facepop.masks.fallback import forget_mask_sources
from lib_facepop.pipeline import FacePipeline
from lib_facepop.processors import IdentityProcessor
from lib_facepop.settings import FacePopSettings

OFFICIAL_ONNX = "modnet_photographic_portrait_matting.onnx"


@pytest.fixture(autouse=True)
def fresh_mask_sources():
    """Chains are cached per process and remember failed sources: start each test clean."""
    forget_mask_sources()
    yield
    forget_mask_sources()


@pytest.fixture(scope="module")
def aligned(astronaut):
    face = SinglePassDetector().detect(astronaut, DetectionOptions())[0]
    return align_face(astronaut, face, FacePopSettings())


@pytest.fixture
def models_dir(tmp_path, random_onnx):
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(random_onnx, folder / OFFICIAL_ONNX)
    return folder


def test_region_is_one_on_the_face_and_zero_at_the_crop_border(aligned) -> None:
    region = feathered_face_region(aligned, FacePopSettings())
    assert region.shape == (720, 720) and region.dtype == np.float32
    assert region[360, 360] == 1.0
    border = np.concatenate([region[0], region[-1], region[:, 0], region[:, -1]])
    assert border.max() == 0.0
    row = region[360, 360:]
    assert np.all(np.diff(row) <= 1e-6)  # falls off monotonically from the centre


def test_feather_width_follows_the_setting_and_the_padding(aligned) -> None:
    def soft_width(settings: FacePopSettings) -> int:
        row = feathered_face_region(aligned, settings)[360]
        return int(((row > 0.01) & (row < 0.99)).sum())

    narrow = soft_width(FacePopSettings(mask_feather=10))
    wide = soft_width(FacePopSettings(mask_feather=90))
    assert wide > 3 * narrow


def test_less_padding_means_a_narrower_soft_edge(astronaut, aligned) -> None:
    def soft_fraction(settings: FacePopSettings) -> float:
        row = feathered_face_region(align_face(astronaut, aligned.face, settings), settings)[360]
        return float(((row > 0.01) & (row < 0.99)).mean())

    assert soft_fraction(FacePopSettings(padding=10)) < soft_fraction(FacePopSettings(padding=60))


def test_under_a_matte_the_region_reaches_into_the_padding(aligned) -> None:
    alone = feathered_face_region(aligned, FacePopSettings())
    under_matte = feathered_face_region(aligned, FacePopSettings(), fill_padding=True)
    assert under_matte.sum() > 1.3 * alone.sum()
    assert under_matte[0].max() == 0.0 and under_matte[360, -1] == 0.0


def test_modnet_mask_is_the_matte_within_the_region(aligned, random_onnx) -> None:
    from modnet import load_matting_session

    source = ModnetMaskSource(load_matting_session(random_onnx))
    mask = source.make_mask(aligned, FacePopSettings())
    assert mask.source == "modnet"
    assert set(mask.layers) == {"matte", "region"}
    assert mask.mask.shape == (720, 720)
    assert np.allclose(mask.mask, np.minimum(mask.layers["matte"], mask.layers["region"]))
    assert mask.person is mask.layers["matte"]
    assert source.short_side == 320  # CPU here


def test_selfie_mask_follows_the_person(aligned) -> None:
    mask = SelfieMaskSource().make_mask(aligned, FacePopSettings())
    assert mask.source == "selfie"
    matte = mask.layers["matte"]
    assert matte[360, 360] > 0.9  # the face
    assert matte[30, 30] < 0.2  # the grey studio backdrop in the top corner
    assert mask.mask.max() <= 1.0 and mask.mask[360, 360] > 0.9


def test_modnet_is_used_when_its_model_file_is_there(aligned, models_dir, caplog) -> None:
    caplog.set_level(logging.WARNING)
    source = create_mask_source(FacePopSettings(), models_dir=models_dir)
    assert source.make_mask(aligned, FacePopSettings()).source == "modnet"
    assert "unavailable" not in caplog.text


def test_modnet_asked_for_but_missing_falls_back_to_selfie_warned_once(aligned, tmp_path,
                                                                       caplog) -> None:
    caplog.set_level(logging.WARNING)
    empty = tmp_path / "no-models"
    empty.mkdir()
    settings = FacePopSettings(mask_source="modnet")
    for _ in range(2):
        source = create_mask_source(settings, models_dir=empty)
        assert source.make_mask(aligned, settings).source == "selfie"
    messages = [r.getMessage() for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(messages) == 1
    assert "no MODNet model file" in messages[0] and str(empty) in messages[0]


def test_auto_without_a_model_uses_selfie_quietly_and_names_it_once(aligned, tmp_path,
                                                                    caplog) -> None:
    caplog.set_level(logging.INFO, logger="lib_facepop")
    empty = tmp_path / "no-models-auto"
    empty.mkdir()
    for _ in range(2):
        source = create_mask_source(FacePopSettings(), models_dir=empty)
        assert source.make_mask(aligned, FacePopSettings()).source == "selfie"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    named = [r.getMessage() for r in caplog.records if "face masks from" in r.getMessage()]
    assert named == ["FacePop: face masks from selfie-segmentation"]


def test_auto_warns_about_a_broken_model_file(aligned, tmp_path, caplog) -> None:
    caplog.set_level(logging.WARNING)
    broken = tmp_path / "broken-auto"
    broken.mkdir()
    (broken / OFFICIAL_ONNX).write_bytes(b"this is not an onnx model")
    source = create_mask_source(FacePopSettings(), models_dir=broken)
    assert source.make_mask(aligned, FacePopSettings()).source == "selfie"
    assert any(OFFICIAL_ONNX in r.getMessage() for r in caplog.records
               if r.levelno == logging.WARNING)


def test_a_corrupt_model_file_is_named_then_selfie_takes_over(aligned, tmp_path,
                                                              caplog) -> None:
    caplog.set_level(logging.WARNING)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / OFFICIAL_ONNX).write_bytes(b"this is not an onnx model")
    source = create_mask_source(FacePopSettings(), models_dir=broken)
    assert source.make_mask(aligned, FacePopSettings()).source == "selfie"
    assert OFFICIAL_ONNX in caplog.text


def test_when_selfie_segmentation_fails_the_ellipse_takes_over(aligned, tmp_path, caplog,
                                                               monkeypatch) -> None:
    from lib_facepop.detect import mediapipe_runtime

    def broken() -> None:
        raise RuntimeError("segmentation graph broken")

    monkeypatch.setattr(mediapipe_runtime, "selfie_segmentation", broken)
    caplog.set_level(logging.WARNING)
    source = create_mask_source(FacePopSettings(mask_source="selfie"))
    assert source.make_mask(aligned, FacePopSettings()).source == "ellipse"
    assert "segmentation graph broken" in caplog.text


def test_the_setting_picks_where_the_chain_starts(aligned, models_dir) -> None:
    for start in ("selfie", "ellipse"):
        source = create_mask_source(FacePopSettings(mask_source=start), models_dir=models_dir)
        assert source.make_mask(aligned, FacePopSettings()).source == start


def test_wrong_input_to_a_mask_source_is_an_error(aligned, random_onnx) -> None:
    from modnet import ModnetInputError, load_matting_session

    session = load_matting_session(random_onnx)
    with pytest.raises(ModnetInputError):
        session.predict(aligned.image[:, :, 0])


def test_background_removal_greys_out_everything_but_the_person(astronaut) -> None:
    pipeline = FacePipeline(SinglePassDetector(), SelfieMaskSource(), IdentityProcessor())
    settings = FacePopSettings(enabled=True, remove_background=True)
    result = pipeline.run(astronaut, settings)
    prepared = result.faces[0].prepared
    assert prepared.pass_input is not prepared.aligned.image
    assert tuple(prepared.pass_input[20, 20]) == pytest.approx(NEUTRAL_FILL, abs=30)
    assert np.array_equal(prepared.pass_input[360, 360], prepared.aligned.image[360, 360])
    plain = pipeline.run(astronaut, FacePopSettings(enabled=True))
    assert plain.faces[0].prepared.pass_input is plain.faces[0].prepared.aligned.image


def test_ellipse_source_has_no_layers_and_no_person(aligned) -> None:
    mask = EllipseMaskSource().make_mask(aligned, FacePopSettings())
    assert mask.layers == {} and mask.person is None
