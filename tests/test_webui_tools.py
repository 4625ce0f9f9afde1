"""FacePop with the WebUI's own face restorers and upscalers (A1111 v1.10.1 test double):
CodeFormer and GFPGAN from shared.face_restorers on the upright face crop, the upscalers of
shared.sd_upscalers for small faces, and each missing tool said once per generation.

The double's restorers and its R-ESRGAN 4x+ stand-in have recognisable effects (see
tests/webui_double/modules/codeformer_model.py, gfpgan_model.py, realesrgan_model.py) and
record what they got. With a face denoising strength of 0 the face pass hands the face
back as it got it, so what the tools did shows in the result.
"""

from __future__ import annotations

import logging

import numpy as np
from PIL import Image

from lib_facepop.detect import DetectionOptions, SinglePassDetector
from lib_facepop.settings import FacePopSettings
from tests.facepop_webui import FACE_CENTRE, FACE_SETTINGS, ROOT, generate, passes
from tests.webui_double_fixtures import FLAVOURS

WEBUI_FLAVOURS = FLAVOURS  # the host-behaviour tests run in both flavours of the double

# The face pass changes nothing: what comes back is the upright crop.
UNCHANGED_BY_THE_PASS = dict(FACE_SETTINGS, separate_face_processing=True,
                             face_denoising_strength=0.0)


def _roll(image: np.ndarray) -> float:
    (face,) = SinglePassDetector().detect(image, DetectionOptions.from_settings(
        FacePopSettings()))
    return face.roll


def _around(image: Image.Image | np.ndarray, centre: tuple[int, int], radius: int = 12
            ) -> np.ndarray:
    x, y = centre
    return np.asarray(image, dtype=np.float64)[y - radius:y + radius, x - radius:x + radius]


def test_codeformer_restores_the_upright_face_crop_with_its_fidelity(webui, astronaut
                                                                     ) -> None:
    webui.load_extension(ROOT)
    tilted = np.asarray(Image.fromarray(astronaut).rotate(30, resample=Image.BICUBIC,
                                                          fillcolor=(120, 120, 120)))
    assert abs(_roll(tilted) - 30) < 8
    settings = dict(UNCHANGED_BY_THE_PASS, face_restoration="codeformer",
                    codeformer_weight=0.3)
    (image,) = generate(webui, Image.fromarray(tilted), settings=settings)
    (call,) = webui.codeformer_model.restore_calls
    assert call["w"] == 0.3
    assert call["image"].shape == (256, 256, 3) and call["image"].dtype == np.uint8
    assert abs(_roll(call["image"])) < 6  # the face the restorer got is upright
    assert webui.gfpgan_model.restore_calls == []
    # what it gave back is pasted: 0.3 of the face, 0.7 of its negative
    (face,) = SinglePassDetector().detect(tilted, DetectionOptions.from_settings(
        FacePopSettings()))
    centre = (int(face.center[0]), int(face.center[1]))
    source = _around(tilted, centre)
    restored = source * 0.3 + (255.0 - source) * 0.7
    assert np.abs(_around(image, centre) - restored).mean() < 8
    assert np.abs(_around(image, centre) - source).mean() > 30
    assert webui.reports == []


def test_gfpgan_restores_without_a_weight_and_visibility_mixes_it_in(webui, astronaut
                                                                     ) -> None:
    webui.load_extension(ROOT)
    settings = dict(UNCHANGED_BY_THE_PASS, face_restoration="gfpgan", restore_visibility=0.5)
    (image,) = generate(webui, Image.fromarray(astronaut), settings=settings)
    (call,) = webui.gfpgan_model.restore_calls  # (a weight would be a TypeError)
    assert call["image"].shape == (256, 256, 3)
    assert webui.codeformer_model.restore_calls == []
    source = _around(astronaut, FACE_CENTRE)
    half = (source + source[:, :, ::-1]) / 2.0  # half of it with its channels reversed
    assert np.abs(_around(image, FACE_CENTRE) - half).mean() < 6
    assert np.abs(_around(image, FACE_CENTRE) - source).mean() > 10


def test_a_missing_restorer_is_said_once_per_generation(webui, astronaut, caplog) -> None:
    webui.load_extension(ROOT)
    webui.shared.face_restorers[:] = [r for r in webui.shared.face_restorers
                                      if r.name() != "GFPGAN"]
    settings = dict(FACE_SETTINGS, face_restoration="gfpgan")
    with caplog.at_level(logging.WARNING):
        images = generate(webui, Image.fromarray(astronaut), settings=settings, batch_size=2,
                          n_iter=2)
    said = [r for r in caplog.records if "GFPGAN is not available here" in r.getMessage()]
    assert len(said) == 1
    _, nested = passes(webui)
    assert len(nested) == 4  # every image's faces are processed all the same
    assert len([im for im in images if im.size == (512, 512)]) == 4
    assert webui.reports == []


def _small_face(astronaut: np.ndarray, scale: float = 0.4) -> Image.Image:
    """The astronaut shrunk (her face about 45 px) in the middle of a 512-px grey picture."""
    small = Image.fromarray(astronaut).resize(
        (int(512 * scale), int(512 * scale)), Image.LANCZOS)
    canvas = Image.new("RGB", (512, 512), (120, 120, 120))
    canvas.paste(small, (150, 150))
    return canvas


def test_a_named_upscaler_enlarges_small_faces_only(webui, astronaut) -> None:
    webui.load_extension(ROOT)
    calls = webui.realesrgan_model.upscale_calls
    settings = dict(UNCHANGED_BY_THE_PASS, upscaler="r-esrgan 4X+")  # any case
    # A face larger than the face size is cut out at the face size: no upscaler.
    generate(webui, Image.fromarray(astronaut), settings=dict(settings, face_width=128,
                                                             face_height=128))
    assert calls == []

    picture = _small_face(astronaut)
    (image,) = generate(webui, picture, settings=settings)
    (call,) = calls  # once, with the face cut out at its own size
    width, height = call["size"]
    assert 40 < width < 128 and width == height
    assert call["path"] == webui.shared.sd_upscalers[3].data_path
    # The stand-in inverts what it enlarges: the face comes back as its negative.
    (face,) = SinglePassDetector().detect(np.asarray(picture), DetectionOptions.from_settings(
        FacePopSettings()))
    centre = (int(face.center[0]), int(face.center[1]))
    source = _around(picture, centre, radius=6)
    assert np.abs(_around(image, centre, radius=6) - (255.0 - source)).mean() < 25
    assert webui.reports == []


def test_an_unknown_upscaler_falls_back_to_lanczos_said_once(webui, astronaut, caplog
                                                             ) -> None:
    webui.load_extension(ROOT)
    settings = dict(UNCHANGED_BY_THE_PASS, upscaler="4x-NoSuchModel", eyes_pass=True)
    with caplog.at_level(logging.WARNING):
        images = generate(webui, _small_face(astronaut), settings=settings, batch_size=2,
                          n_iter=2)
    said = [r.getMessage() for r in caplog.records if "4x-NoSuchModel" in r.getMessage()]
    assert len(said) == 1
    assert "Lanczos" in said[0] and "R-ESRGAN 4x+" in said[0]  # what there is instead
    assert webui.realesrgan_model.upscale_calls == []
    assert len([im for im in images if im.size == (512, 512)]) == 4
    assert webui.reports == []


def test_a_face_the_restorer_gives_back_unchanged_is_said_once(webui, astronaut, caplog
                                                                ) -> None:
    webui.load_extension(ROOT)
    # The stand-in CodeFormer returns the face as it got it at fidelity 1, as the host's
    # does where its face finder finds no face in the crop.
    settings = dict(FACE_SETTINGS, face_restoration="codeformer", codeformer_weight=1.0)
    with caplog.at_level(logging.INFO):
        generate(webui, Image.fromarray(astronaut), settings=settings, n_iter=2)
    assert len(webui.codeformer_model.restore_calls) == 2
    said = [r for r in caplog.records if "gave a face back unchanged" in r.getMessage()]
    assert len(said) == 1 and "CodeFormer" in said[0].getMessage()
