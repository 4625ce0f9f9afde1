"""FacePop inside the WebUI (the A1111 v1.10.1 test double): one generation end to end.

The double's sampler paints each batch item as ``init * (1 - d) + colour(seed, prompt) * d``.
With a denoising strength of 1 a pixel therefore shows exactly which pass made it: the face
pass (the face's own seed and prompt) or the main pass (the image's seed and prompt).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lib_facepop.settings import FacePopSettings
from tests.facepop_webui import (
    BACKGROUND,
    FACE_CENTRE,
    FACE_SETTINGS,
    FORGE_INTEGRATED,
    ROOT,
    TILE,
    face_centre,
    face_pass_scripts,
    passes,
    pixel,
    probe_extension,
    progress_recorder,
    recorded_progress,
)
from tests.facepop_webui import colour as _colour_of
from tests.facepop_webui import generate as _generate
from tests.webui_double_fixtures import FLAVOURS

WEBUI_FLAVOURS = FLAVOURS  # the host-behaviour tests run in both flavours of the double


def test_three_faces_one_face_pass_one_main_pass_each_pixel_processed_once(
        webui, three_faces) -> None:
    webui.load_extension(ROOT)
    settings = dict(FACE_SETTINGS, separate_face_processing=True, face_denoising_strength=1.0,
                    face_prompt="left [SEP] middle [SEP] right")
    (image,) = _generate(webui, three_faces, settings=settings)

    main, nested = passes(webui)
    assert len(main) == 1 and len(nested) == 1
    face_pass = nested[0]
    assert (face_pass["batch_size"], face_pass["n_init_images"]) == (3, 3)
    assert (face_pass["width"], face_pass["height"]) == (256, 256)
    assert face_pass["prompts"] == ["left", "middle", "right"]
    seed = main[0]["seeds"][0]
    assert face_pass["seeds"] == [seed, seed + 1, seed + 2]
    assert main[0]["batches"][0]["image_mask_given"] and main[0]["batch_size"] == 1
    # Only the allowed always-on scripts (Forge: its built-in ControlNet and UNet patchers)
    # and, in A1111, the WebUI's own Comments script, never FacePop, run in the face pass.
    default = ["ControlNet", *FORGE_INTEGRATED] if webui.forge else []
    assert face_pass["alwayson_scripts"] == face_pass_scripts(webui, *default)

    for tile, prompt in enumerate(("left", "middle", "right")):
        assert pixel(image, face_centre(tile)) == _colour_of(webui, seed + tile, prompt)
    assert pixel(image, BACKGROUND) == _colour_of(webui, seed, "photo")
    assert webui.reports == []


def test_face_pass_inherits_the_job_unless_overridden(webui, three_faces) -> None:
    webui.load_extension(ROOT)
    _generate(webui, three_faces, settings=FACE_SETTINGS, cfg_scale=5.5,
              denoising_strength=0.6)
    main, (face_pass,) = passes(webui)
    assert face_pass["steps"] == main[0]["steps"]
    assert face_pass["cfg_scale"] == 5.5 and face_pass["denoising_strength"] == 0.6
    assert face_pass["sampler_name"] == main[0]["sampler_name"]
    assert face_pass["prompts"] == ["photo"] * 3

    webui.processing.reset_process_images_log()
    settings = dict(FACE_SETTINGS, separate_face_processing=True, face_steps=7,
                    face_cfg_scale=3.0, face_denoising_strength=0.3)
    _generate(webui, three_faces, settings=settings)
    _, (face_pass,) = passes(webui)
    assert (face_pass["steps"], face_pass["cfg_scale"], face_pass["denoising_strength"]) == (
        7, 3.0, 0.3)


def test_batch_size_and_count_give_every_image_its_own_face_pass(webui, astronaut
                                                                 ) -> None:
    webui.load_extension(ROOT)
    image = Image.fromarray(astronaut)
    images = _generate(webui, image, settings=FACE_SETTINGS, batch_size=2, n_iter=2)
    main, nested = passes(webui)
    assert len(main) == 1 and len(nested) == 4
    seeds = main[0]["seeds"] if len(main[0]["seeds"]) == 4 else [
        s for batch in main[0]["batches"] for s in batch["seeds"]]
    assert [entry["seeds"] for entry in nested] == [[s] for s in seeds]
    outputs = [im for im in images if im.size == image.size][-4:]
    for output, item_seed in zip(outputs, seeds, strict=True):
        assert pixel(output, FACE_CENTRE) == _colour_of(webui, item_seed, "photo")
        assert pixel(output, BACKGROUND) == _colour_of(webui, item_seed, "photo")
    assert len({pixel(output, FACE_CENTRE) for output in outputs}) == 4


def test_faces_outside_the_users_inpaint_mask_are_left_alone(webui, three_faces
                                                             ) -> None:
    webui.load_extension(ROOT)
    mask = np.zeros((TILE, 3 * TILE), np.uint8)
    mask[:, :TILE] = 255  # the user inpaints the first tile only
    images = _generate(webui, three_faces, settings=FACE_SETTINGS,
                       mask=Image.fromarray(mask), mask_blur=0)
    image = images[0]
    main, (face_pass,) = passes(webui)
    assert face_pass["batch_size"] == 1
    seed = main[0]["seeds"][0]
    assert pixel(image, face_centre(0)) == _colour_of(webui, seed, "photo")
    # Outside the user's mask nothing changes: the other faces keep their own pixels.
    original = np.asarray(three_faces)
    for tile in (1, 2):
        x, y = face_centre(tile)
        assert pixel(image, (x, y)) == tuple(int(v) for v in original[y, x])
    assert pixel(image, BACKGROUND) == _colour_of(webui, seed, "photo")


def test_inpaint_not_masked_protects_the_masked_part_and_the_faces(webui, three_faces
                                                                   ) -> None:
    webui.load_extension(ROOT)
    mask = np.zeros((TILE, 3 * TILE), np.uint8)
    mask[:, 2 * TILE:] = 255  # masked: the third tile; "inpaint not masked" works elsewhere
    images = _generate(webui, three_faces, settings=FACE_SETTINGS,
                       mask=Image.fromarray(mask), mask_blur=0, inpainting_mask_invert=1)
    image = images[0]
    main, (face_pass,) = passes(webui)
    assert face_pass["batch_size"] == 2
    seed = main[0]["seeds"][0]
    assert pixel(image, face_centre(0)) == _colour_of(webui, seed, "photo")
    assert pixel(image, face_centre(1)) == _colour_of(webui, seed + 1, "photo")
    x, y = face_centre(2)
    assert pixel(image, (x, y)) == tuple(int(v) for v in np.asarray(three_faces)[y, x])


def test_infotext_holds_non_default_settings_and_pastes_them_back(webui, astronaut
                                                                  ) -> None:
    runner = webui.load_extension(ROOT)
    settings = dict(FACE_SETTINGS, padding=20.0, separate_face_processing=True,
                    face_prompt="freckles, smile [SEP] beard")
    images = _generate(webui, Image.fromarray(astronaut), settings=settings)
    infotext = images[0].info["parameters"]
    assert "FacePop enabled: True" in infotext and "FacePop padding: 20.0" in infotext
    assert 'FacePop face prompt: "freckles, smile [SEP] beard"' in infotext
    assert "FacePop version: " in infotext

    updates = webui.paste(infotext)
    script = runner.script("FacePop")
    fields = runner.infotext_fields
    start = next(i for i, (component, _) in enumerate(fields)
                 if component is script.controls[0])
    values = [update.get("value") for update in updates[start:start + len(script.controls)]]
    assert FacePopSettings.from_positional(values) == FacePopSettings(**settings)


def test_api_takes_named_or_positional_args(webui, astronaut) -> None:
    webui.install_extension(ROOT)
    webui.start()
    for args in ([dict(FACE_SETTINGS)], FacePopSettings(**FACE_SETTINGS).to_positional()):
        webui.processing.reset_process_images_log()
        reply = webui.api_img2img({
            "init_images": [Image.fromarray(astronaut)], "prompt": "photo", "steps": 3,
            "denoising_strength": 1.0, "seed": 77, "width": 512, "height": 512,
            "alwayson_scripts": {"FacePop": {"args": args}}})
        _, nested = passes(webui)
        assert len(nested) == 1 and nested[0]["seeds"] == [77]
        info = json.loads(reply["info"])
        assert "FacePop enabled: True" in info["infotexts"][0]


def test_interrupt_in_the_face_pass_stops_the_job(webui, astronaut, tmp_path
                                                  ) -> None:
    webui.load_extension(ROOT)
    webui.load_extension(probe_extension(tmp_path, action="interrupt"))
    settings = dict(FACE_SETTINGS, face_pass_scripts="probe")
    images = _generate(webui, Image.fromarray(astronaut), settings=settings, n_iter=2)
    main, nested = passes(webui)
    assert len(nested) == 1  # no face pass for the second batch
    # The face pass runs at the start of the batch: the main pass stops at once, as the
    # host's sampler does when Interrupt is set; the host returns that unfinished image,
    # which is the job's own picture (FacePop changed nothing).
    assert [batch["skipped"] for batch in main[0]["batches"]] == [True]
    (unfinished,) = [im for im in images if im.size == (TILE, TILE)]
    assert np.array_equal(np.asarray(unfinished), astronaut)
    saved = Path(webui.shared.opts.outdir_img2img_samples)
    assert not saved.exists() or not any(saved.rglob("*.png"))


def test_skip_in_the_face_pass_leaves_that_image_to_the_main_pass(webui, astronaut, tmp_path
                                                                  ) -> None:
    webui.load_extension(ROOT)
    webui.load_extension(probe_extension(tmp_path, action="skip"))
    settings = dict(FACE_SETTINGS, face_pass_scripts="probe")
    images = _generate(webui, Image.fromarray(astronaut), settings=settings, n_iter=2)
    main, nested = passes(webui)
    assert len(nested) == 2 and not main[0]["batches"][0]["image_mask_given"]
    # The second face pass runs inside the main loop: its Skip must not skip the main batch.
    assert [batch["skipped"] for batch in main[0]["batches"]] == [False, False]
    outputs = [im for im in images if im.size == (TILE, TILE)][-2:]
    for output, seed in zip(outputs, main[0]["seeds"], strict=True):
        assert pixel(output, FACE_CENTRE) == _colour_of(webui, seed, "photo")


def test_a_later_batch_whose_face_pass_is_skipped_gets_no_mask_of_the_batch_before(
        webui, astronaut, tmp_path) -> None:
    webui.load_extension(ROOT)
    webui.load_extension(probe_extension(tmp_path, action="skip", only_pass=2))
    settings = dict(FACE_SETTINGS, face_pass_scripts="probe", separate_face_processing=True,
                    face_prompt="face", face_denoising_strength=1.0)
    images = _generate(webui, Image.fromarray(astronaut), settings=settings, n_iter=2)
    (main,), _ = passes(webui)
    assert [batch["image_mask_given"] for batch in main["batches"]] == [True, False]
    first, second = [im for im in images if im.size == (TILE, TILE)][-2:]
    assert pixel(first, FACE_CENTRE) == _colour_of(webui, main["seeds"][0], "face")
    # the second image's face is the main pass's: nothing of the first batch protects it
    assert pixel(second, FACE_CENTRE) == _colour_of(webui, main["seeds"][1], "photo")
    # and each image's infotext says what FacePop did to it (the WebUI asks per batch)
    assert "FacePop faces: 1" in first.info["parameters"]
    assert "FacePop faces: 0" in second.info["parameters"]


@pytest.mark.parametrize(("module", "broken"), [("job", "create_detector"),
                                               ("generation", "main_pass_mask")])
def test_a_failure_inside_facepop_still_gives_the_normal_result(webui, astronaut, caplog,
                                                                module, broken) -> None:
    webui.load_extension(ROOT)
    generation = sys.modules[f"lib_facepop.webui.{module}"]

    def explode(*args, **kwargs):
        raise RuntimeError(f"{broken} exploded")

    original = getattr(generation, broken)
    setattr(generation, broken, explode)
    try:
        with caplog.at_level(logging.ERROR):
            (image,) = _generate(webui, Image.fromarray(astronaut), settings=FACE_SETTINGS,
                                 denoising_strength=0.5)
    finally:
        setattr(generation, broken, original)
    (main, *_), _ = passes(webui)
    assert not any(batch["image_mask_given"] for batch in main["batches"])
    seed = main["seeds"][0]
    # Plain img2img of the ORIGINAL image: the job's own init image was put back.
    for xy in (FACE_CENTRE, BACKGROUND):
        original = astronaut[xy[1], xy[0]].astype(float)
        colour = np.asarray(_colour_of(webui, seed, "photo"), dtype=float)
        expected = tuple(int(v) for v in np.floor(original * 0.5 + colour * 0.5 + 0.5))
        assert pixel(image, xy) == expected
    failures = [r for r in caplog.records if "FacePop failed" in r.getMessage()]
    assert len(failures) == 1 and f"{broken} exploded" in caplog.text
    assert webui.reports == []  # FacePop caught it; the host had nothing to report


def test_only_the_allowed_always_on_scripts_run_in_the_face_pass(webui, astronaut, tmp_path
                                                                 ) -> None:
    webui.load_extension(ROOT)
    webui.load_extension(probe_extension(tmp_path, action=None))
    controlnet = ["ControlNet"] if webui.forge else []  # (Forge's is built in)
    for allowed, expected in (("controlnet", face_pass_scripts(webui, *controlnet)),
                              ("probe, controlnet",
                               face_pass_scripts(webui, *controlnet, "Probe"))):
        webui.processing.reset_process_images_log()
        _generate(webui, Image.fromarray(astronaut),
                  settings=dict(FACE_SETTINGS, face_pass_scripts=allowed))
        main, (face_pass,) = passes(webui)
        assert face_pass["alwayson_scripts"] == expected
        assert "FacePop" in main[0]["alwayson_scripts"]


def test_progress_counts_the_face_passes_and_params_txt_keeps_the_job(webui, three_faces,
                                                                      tmp_path
                                                                      ) -> None:
    webui.set_commandline_args("--facepop-face-batch 2")
    webui.load_extension(ROOT)
    recorder, recorded = progress_recorder(tmp_path)
    webui.load_extension(recorder)
    _generate(webui, three_faces, settings=FACE_SETTINGS, n_iter=2)
    _, nested = passes(webui)
    # 3 faces, at most 2 per face pass: 2 passes per image, for each of the 2 batches.
    assert [entry["batch_size"] for entry in nested] == [2, 1, 2, 1]
    assert recorded_progress(recorded) == [[2 + 4, 2 + 4]]
    params = (webui.data_path / "params.txt").read_text()
    assert "FacePop enabled: True" in params and "Size: 1536x512" in params


def test_processed_faces_are_saved_through_the_webui_only_when_saving(webui, astronaut
                                                                      ) -> None:
    webui.install_extension(ROOT)
    webui.start()
    payload = {"init_images": [Image.fromarray(astronaut)], "prompt": "photo", "steps": 3,
               "denoising_strength": 0.5, "seed": 5, "width": 512, "height": 512,
               "alwayson_scripts": {"FacePop": {"args": [dict(FACE_SETTINGS, debug=True)]}}}
    webui.api_img2img(payload)  # API default: save_images false
    outputs = Path(webui.shared.opts.outdir_img2img_samples)
    assert not (outputs / "facepop").exists()

    webui.api_img2img(dict(payload, save_images=True))
    faces = [p for p in (outputs / "facepop").rglob("*.png") if "debug" not in p.parts]
    assert len(faces) == 1
    info = Image.open(faces[0]).info["parameters"]
    assert "Seed: 5" in info and "Size: 256x256" in info  # the face pass's own infotext
    (debug,) = (outputs / "facepop" / "debug").iterdir()
    assert (debug / "contact-sheet.png").exists() and (debug / "run.json").exists()
