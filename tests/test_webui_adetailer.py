"""FacePop beside ADetailer (its stand-in, v25.3.0) in one generation, in both tabs: the
other scripts' postprocess and process that ADetailer calls on shallow copies of the job
in every image's postprocess_image must leave FacePop's job alone.

The double's sampler paints ``init * (1 - d) + colour(seed, prompt) * d``; with d = 1 a
pixel tells which pass made it.
"""

from __future__ import annotations

import json

from PIL import Image

from lib_facepop.settings import FacePopSettings
from tests.facepop_webui import (
    ADETAILER,
    FACE_CENTRE,
    FACE_SETTINGS,
    ROOT,
    colour,
    generate,
    passes,
    pixel,
)
from tests.webui_double_fixtures import FLAVOURS

WEBUI_FLAVOURS = FLAVOURS  # the host-behaviour tests run in both flavours of the double

FACE_PASS = dict(FACE_SETTINGS, separate_face_processing=True, face_prompt="face",
                 face_denoising_strength=1.0)


def _with_adetailer(webui) -> list:
    webui.install_extension(ADETAILER, name="adetailer")
    runner = webui.load_extension(ROOT)
    return type(runner.script("ADetailer")).postprocess_image.__globals__["CALLS"]


def test_img2img_keeps_every_batchs_face_pass_and_infotext(webui, astronaut) -> None:
    calls = _with_adetailer(webui)
    images = generate(webui, Image.fromarray(astronaut), settings=FACE_PASS, n_iter=2,
                      overrides={"ADetailer": [True]})
    (main,), nested = passes(webui)
    assert [kind for kind, *_ in calls] == ["postprocess", "process"] * 2
    assert [entry["seeds"] for entry in nested] == [[seed] for seed in main["seeds"]]
    outputs = [image for image in images if image.size == (512, 512)][-2:]
    for output, seed in zip(outputs, main["seeds"], strict=True):
        assert pixel(output, FACE_CENTRE) == colour(webui, seed, "face")  # pasted back
        assert "FacePop faces: 1" in output.info["parameters"]
    assert webui.reports == []


def test_txt2img_keeps_every_images_face_pass_and_infotext(webui, astronaut) -> None:
    calls = _with_adetailer(webui)
    webui.processing.set_txt2img_picture(Image.fromarray(astronaut), strength=0.25)
    args = webui.txt2img_ui_args(overrides={
        "FacePop": FacePopSettings(**FACE_PASS).to_positional(), "ADetailer": [True]})
    images, info_js, *_ = webui.run_txt2img(prompt="photo", batch_size=2, n_iter=2,
                                            script_args=args)
    info = json.loads(info_js)
    (main,), nested = passes(webui)
    assert [kind for kind, *_ in calls] == ["postprocess", "process"] * 2
    assert [entry["seeds"] for entry in nested] == [[seed] for seed in main["seeds"]]
    outputs = images[info["index_of_first_image"]:]
    for output, seed in zip(outputs, main["seeds"], strict=True):
        assert pixel(output, FACE_CENTRE) == colour(webui, seed, "face")
        assert "FacePop faces: 1" in output.info["parameters"]
    assert webui.reports == []
