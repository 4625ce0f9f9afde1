"""FacePop in the txt2img tab (A1111 v1.10.1 test double): one batched face pass per
generated image, in postprocess_image, with everything the img2img job guarantees.

The double's txt2img "model" draws the astronaut here (processing.set_txt2img_picture),
tinted by a quarter of colour(seed, prompt), so each generated image has her face and
tells its batch item; the face pass (an img2img job over the face crops) paints
``init * (1 - d) + colour(seed, prompt) * d``, so with d = 1 a pixel tells which pass made
it.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lib_facepop.detect import DetectionOptions, SinglePassDetector
from lib_facepop.settings import FacePopSettings
from tests.facepop_webui import (
    BACKGROUND,
    CONTROLNET,
    FACE_CENTRE,
    FACE_SETTINGS,
    ROOT,
    colour,
    passes,
    pixel,
    probe_extension,
    progress_recorder,
    recorded_progress,
)
from tests.helpers import post_json, serving, write_extension
from tests.webui_double_fixtures import FLAVOURS

WEBUI_FLAVOURS = FLAVOURS  # the host-behaviour tests run in both flavours of the double

PROMPT = "portrait"
TINT = 0.25
FACE_PASS = dict(FACE_SETTINGS, face_denoising_strength=1.0)
BLUE = (0, 0, 255)


@pytest.fixture
def drawing_the_astronaut(webui, astronaut):
    """The double's txt2img draws the astronaut (tinted per seed and prompt)."""
    webui.processing.set_txt2img_picture(Image.fromarray(astronaut), strength=TINT)
    return astronaut


def _txt2img(webui, settings: dict, overrides: dict | None = None, **kwargs) -> tuple:
    """The txt2img Generate button with FacePop ``settings``: (output images, info)."""
    args = webui.txt2img_ui_args(overrides={
        "FacePop": FacePopSettings(**settings).to_positional(), **(overrides or {})})
    kwargs.setdefault("prompt", PROMPT)
    images, info_js, *_ = webui.run_txt2img(script_args=args, **kwargs)
    info = json.loads(info_js)
    return images[info["index_of_first_image"]:], info


def _plain(webui, astronaut: np.ndarray, seed: int, xy: tuple[int, int]) -> tuple[int, ...]:
    """A pixel of the plain txt2img image of ``seed``."""
    tint = np.asarray(colour(webui, seed, PROMPT), dtype=np.float64)
    value = astronaut[xy[1], xy[0]].astype(np.float64) * (1 - TINT) + tint * TINT
    return tuple(int(v) for v in np.floor(value + 0.5))


def test_every_generated_image_gets_its_face_pass_eyes_pass_and_restoration(
        webui, drawing_the_astronaut, tmp_path) -> None:
    astronaut = drawing_the_astronaut
    recorder, recorded = progress_recorder(tmp_path)
    webui.load_extension(ROOT)
    webui.load_extension(recorder)
    settings = dict(FACE_PASS, face_restoration="gfpgan", eyes_pass=True,
                    eyes_prompt="clear iris", eyes_denoising_strength=1.0)
    outputs, info = _txt2img(webui, settings, batch_size=2, n_iter=2)
    (main,), nested = passes(webui)
    seeds = main["seeds"]
    assert main["mode"] == "txt2img" and len(seeds) == 4 and len(outputs) == 4
    # per image, in order: ONE face pass (an img2img job over its face crops) and its eyes
    assert [entry["mode"] for entry in nested] == ["img2img"] * 8
    face_passes, eyes_passes = nested[0::2], nested[1::2]
    assert [entry["seeds"] for entry in face_passes] == [[s] for s in seeds]
    assert all(entry["prompts"] == [PROMPT] and (entry["width"], entry["height"]) == (256, 256)
               and entry["denoising_strength"] == 1.0 and entry["steps"] == main["steps"]
               for entry in face_passes)
    assert [entry["seeds"] for entry in eyes_passes] == [[s] for s in seeds]
    assert all(entry["prompts"] == ["clear iris"] for entry in eyes_passes)
    assert len(webui.gfpgan_model.restore_calls) == 4

    (face,) = SinglePassDetector().detect(astronaut, DetectionOptions.from_settings(
        FacePopSettings()))
    mouth = tuple(int(v) for v in face.landmarks["mouth"])
    for output, seed, text in zip(outputs, seeds, info["infotexts"][-4:], strict=True):
        # the face pass's face, restored by GFPGAN (channels reversed), then the eyes
        assert pixel(output, mouth) == colour(webui, seed, PROMPT)[::-1]
        for iris in (468, 473):
            x, y = face.mesh[iris]
            assert pixel(output, (int(x), int(y))) == colour(webui, seed, "clear iris")
        assert pixel(output, BACKGROUND) == _plain(webui, astronaut, seed, BACKGROUND)
        for written in (text, output.info["parameters"]):
            assert "FacePop faces: 1" in written and "FacePop mask used: ellipse" in written
            assert f"Seed: {seed}" in written
    # the progress count holds the 2 batches, 4 face passes and 4 eyes passes, all done
    assert recorded_progress(recorded) == [[10, 10]]
    assert webui.reports == []


def test_the_face_pass_gets_the_image_after_the_hires_fix(webui, drawing_the_astronaut
                                                          ) -> None:
    webui.load_extension(ROOT)
    (output,), _ = _txt2img(webui, FACE_PASS, enable_hr=True, hr_scale=1.5,
                            hr_upscaler="Lanczos", denoising_strength=0.0)
    (main,), (face_pass,) = passes(webui)
    assert main["hires_size"] == (768, 768) and output.size == (768, 768)
    # the hires fix's denoising strength is not the face pass's
    assert face_pass["denoising_strength"] == 1.0
    centre = (FACE_CENTRE[0] * 3 // 2, FACE_CENTRE[1] * 3 // 2)
    assert pixel(output, centre) == colour(webui, main["seeds"][0], PROMPT)


def test_skip_during_txt2img_sampling_leaves_that_batch_as_it_is(webui, drawing_the_astronaut,
                                                                 tmp_path) -> None:
    webui.load_extension(ROOT)
    webui.load_extension(write_extension(tmp_path, "skipper", """
        from modules import scripts, shared


        class Skipper(scripts.Script):
            def title(self):
                return "Skipper"

            def show(self, is_img2img):
                return scripts.AlwaysVisible

            def process_batch(self, p, *args, **kwargs):
                # Skip clicked while the first batch of the user's job samples
                if not getattr(p, "facepop_nested", False) and kwargs["batch_number"] == 0:
                    shared.state.skip()
    """))
    outputs, _ = _txt2img(webui, FACE_PASS, batch_size=2, n_iter=2)
    (main,), nested = passes(webui)
    seeds = main["seeds"]
    assert [entry["seeds"] for entry in nested] == [[seeds[2]], [seeds[3]]]
    for output, seed in zip(outputs[2:], seeds[2:], strict=True):
        assert pixel(output, FACE_CENTRE) == colour(webui, seed, PROMPT)


def test_skip_during_a_face_pass_leaves_that_image_as_txt2img_made_it(
        webui, drawing_the_astronaut, tmp_path) -> None:
    astronaut = drawing_the_astronaut
    recorder, recorded = progress_recorder(tmp_path)
    webui.load_extension(ROOT)
    webui.load_extension(probe_extension(tmp_path, action="skip", only_pass=2))
    webui.load_extension(recorder)
    settings = dict(FACE_PASS, face_pass_scripts="probe", eyes_pass=True)
    outputs, info = _txt2img(webui, settings, batch_size=2, n_iter=2)
    (main,), nested = passes(webui)
    seeds = main["seeds"]
    # the first image's face pass and eyes pass, the second's skipped face pass, then the
    # other two images' face and eyes passes
    assert [entry["seeds"] for entry in nested] == [[seeds[0]], [seeds[0]], [seeds[1]],
                                                    [seeds[2]], [seeds[2]], [seeds[3]],
                                                    [seeds[3]]]
    assert pixel(outputs[1], FACE_CENTRE) == _plain(webui, astronaut, seeds[1], FACE_CENTRE)
    for i in (0, 2, 3):
        assert pixel(outputs[i], FACE_CENTRE) == colour(webui, seeds[i], PROMPT)
    faces = [text.split("FacePop faces: ")[1][0] for text in info["infotexts"][-4:]]
    assert faces == ["1", "0", "1", "1"]
    # the skipped image's eyes pass never ran, and is not counted
    assert recorded_progress(recorded) == [[2 + 7, 2 + 7]]


def test_interrupt_during_a_face_pass_leaves_every_image_as_txt2img_made_it(
        webui, drawing_the_astronaut, tmp_path) -> None:
    astronaut = drawing_the_astronaut
    webui.load_extension(ROOT)
    webui.load_extension(probe_extension(tmp_path, action="interrupt", only_pass=1))
    settings = dict(FACE_PASS, face_pass_scripts="probe")
    outputs, _ = _txt2img(webui, settings, batch_size=2, n_iter=2)
    (main,), nested = passes(webui)
    assert len(nested) == 1 and len(outputs) == 2  # the second batch never started
    for output, seed in zip(outputs, main["seeds"][:2], strict=True):
        assert pixel(output, FACE_CENTRE) == _plain(webui, astronaut, seed, FACE_CENTRE)


def test_a_failure_inside_facepop_gives_the_normal_txt2img_images(
        webui, drawing_the_astronaut, caplog) -> None:
    astronaut = drawing_the_astronaut
    webui.load_extension(ROOT)
    txt2img = sys.modules["lib_facepop.webui.txt2img"]

    def explode(*args, **kwargs):
        raise RuntimeError("MainJob exploded")

    original = txt2img.MainJob
    txt2img.MainJob = explode
    try:
        with caplog.at_level(logging.ERROR):
            outputs, info = _txt2img(webui, FACE_PASS, batch_size=2, n_iter=2)
    finally:
        txt2img.MainJob = original
    (main,), nested = passes(webui)
    assert nested == [] and len(outputs) == 4
    for output, seed in zip(outputs, main["seeds"], strict=True):
        assert pixel(output, FACE_CENTRE) == _plain(webui, astronaut, seed, FACE_CENTRE)
    failures = [r for r in caplog.records if "FacePop failed" in r.getMessage()]
    assert len(failures) == 1 and "MainJob exploded" in caplog.text
    assert all("FacePop faces: 0" in text for text in info["infotexts"][-4:])
    assert webui.reports == []


def test_a_reused_txt2img_job_gets_back_what_facepop_changed(webui, drawing_the_astronaut
                                                             ) -> None:
    webui.load_extension(ROOT)
    args = webui.txt2img_ui_args(overrides={
        "FacePop": FacePopSettings(**FACE_PASS).to_positional()})
    p = webui.txt2img.txt2img_create_processing(
        "task(test)", None, PROMPT, "", [], 1, 1, 7.0, 512, 512, False, 0.7, 2.0, "Latent", 0,
        0, 0, "Use same checkpoint", "Use same sampler", "Use same scheduler", "", "", [],
        *args)
    given_args, given_params = p.script_args, dict(p.extra_generation_params)
    for _ in range(2):
        processed = webui.processing.process_images(p)
        assert "FacePop faces: 1" in processed.infotexts[-1]
        assert p.script_args is given_args and p.extra_generation_params == given_params
        assert not hasattr(p, "init_images") and not hasattr(p, "image_mask")
    assert len(passes(webui)[1]) == 2


@pytest.mark.webui_flavours("a1111")  # Forge: tests/test_webui_forge.py
def test_controlnet_is_set_aside_around_the_face_pass(webui, drawing_the_astronaut) -> None:
    webui.install_extension(CONTROLNET, name="sd-webui-controlnet")
    webui.load_extension(ROOT)
    runner = webui.scripts.scripts_txt2img
    cn = type(runner.script("ControlNet")).process.__globals__
    unit = cn["ControlNetUnit"](enabled=True, module="ip-adapter_clip_sd15",
                                image=np.full((64, 64, 3), BLUE, np.uint8))
    settings = dict(FACE_PASS, face_pass_scripts="")
    outputs, _ = _txt2img(webui, settings, n_iter=2, overrides={"ControlNet": [unit]})
    outputs = [image for image in outputs if image.size == (512, 512)]  # no detected map
    (main,), nested = passes(webui)
    assert len(nested) == 2 and all(entry["batches"] for entry in nested)
    astronaut = drawing_the_astronaut
    for output, seed in zip(outputs, main["seeds"], strict=True):
        assert pixel(output, FACE_CENTRE) == colour(webui, seed, PROMPT)  # a clean UNet
        # both batches' txt2img pulled halfway towards blue: the job's hook was on
        drawn = (astronaut[BACKGROUND[1], BACKGROUND[0]] * (1 - TINT)
                 + np.asarray(colour(webui, seed, PROMPT)) * TINT)
        pulled = np.floor(drawn * 0.5 + np.asarray(BLUE) * 0.5 + 0.5)
        assert pixel(output, BACKGROUND) == tuple(int(v) for v in pulled)
    # the job's hook, then for each image: set aside, and the job's hook again
    assert [hook["size"] for hook in cn["HOOKS"]] == [(1, 512, 512)] * 3
    assert webui.reports == []
    assert not hasattr(webui.shared.sd_model.model.diffusion_model, "_original_forward")


def test_the_txt2img_route_refuses_bad_facepop_args_over_http(webui, drawing_the_astronaut
                                                               ) -> None:
    webui.install_extension(ROOT)
    app, _ = webui.start()
    body = {"prompt": PROMPT, "steps": 2, "width": 512, "height": 512}
    with serving(app) as base:
        status, reply = post_json(f"{base}/sdapi/v1/txt2img", dict(
            body, alwayson_scripts={"FacePop": {"args": [{"enabled": True, "upscaler": 4}]}}))
        assert status == 422 and reply["field"] == "upscaler"
        assert webui.process_images_log == []  # refused before any generation started

        status, reply = post_json(f"{base}/sdapi/v1/txt2img", dict(
            body, alwayson_scripts={"FacePop": {"args": [dict(FACE_PASS)]}}))
        assert status == 200 and len(reply["images"]) == 1
        assert [entry["nested"] for entry in webui.process_images_log] == [False, True]
        assert "FacePop faces: 1" in json.loads(reply["info"])["infotexts"][0]


def test_faces_and_debugging_folders_go_to_the_txt2img_output_folder(
        webui, drawing_the_astronaut) -> None:
    webui.install_extension(ROOT)
    webui.start()
    payload = {"prompt": PROMPT, "seed": 5, "width": 512, "height": 512, "batch_size": 2,
               "alwayson_scripts": {"FacePop": {"args": [dict(FACE_PASS, debug=True)]}}}
    webui.api_txt2img(payload)  # the API's default: save_images false
    outputs = Path(webui.shared.opts.outdir_txt2img_samples)
    assert not (outputs / "facepop").exists()

    webui.api_txt2img(dict(payload, save_images=True))
    faces = sorted(p for p in (outputs / "facepop").rglob("*.png") if "debug" not in p.parts)
    assert len(faces) == 2
    infos = [Image.open(face).info["parameters"] for face in faces]
    assert sorted("Seed: 5" in info for info in infos) == [False, True]  # each its own seed
    assert all("Size: 256x256" in info for info in infos)  # the face pass's infotext
    debug = sorted((outputs / "facepop" / "debug").iterdir())
    assert len(debug) == 2 and all((d / "contact-sheet.png").exists() for d in debug)
    assert not Path(webui.shared.opts.outdir_img2img_samples).exists()


@pytest.mark.webui_flavours("a1111")  # Forge: tests/test_webui_forge.py
def test_a_controlnet_unit_can_be_given_to_the_txt2img_face_pass_alone(
        webui, drawing_the_astronaut) -> None:
    astronaut = drawing_the_astronaut
    webui.install_extension(CONTROLNET, name="sd-webui-controlnet")
    webui.load_extension(ROOT)
    cn = type(webui.scripts.scripts_txt2img.script("ControlNet")).process.__globals__
    red = (255, 0, 0)
    units = [cn["ControlNetUnit"](enabled=True, module="ip-adapter_clip_sd15",
                                  image=np.full((8, 8, 3), BLUE, np.uint8)),
             cn["ControlNetUnit"](enabled=True, module="ip-adapter_clip_sd15",
                                  image=np.full((8, 8, 3), red, np.uint8))]
    settings = dict(FACE_PASS, face_pass_controlnet_units="1")
    outputs, _ = _txt2img(webui, settings, overrides={"ControlNet": units})
    (output,) = [image for image in outputs if image.size == (512, 512)]
    (main,), _ = passes(webui)
    seed = main["seeds"][0]

    def pulled(value, hint):
        return tuple(int(v) for v in np.floor(np.asarray(value, dtype=np.float64) * 0.5
                                              + np.asarray(hint) * 0.5 + 0.5))

    # the face pass saw unit 1 only, txt2img unit 0 only
    assert pixel(output, FACE_CENTRE) == pulled(colour(webui, seed, PROMPT), red)
    drawn = (astronaut[BACKGROUND[1], BACKGROUND[0]] * (1 - TINT)
             + np.asarray(colour(webui, seed, PROMPT)) * TINT)
    assert pixel(output, BACKGROUND) == pulled(drawn, BLUE)
    assert all(unit.enabled for unit in units)  # the user's units as they were
    assert webui.reports == []
