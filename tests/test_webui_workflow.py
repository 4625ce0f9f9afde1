"""FacePop inside the WebUI workflow users run (A1111 v1.10.1 test double): the Batch tab,
Loopback and other scripts that reuse one `p`, ControlNet beside it (the stand-in of
sd-webui-controlnet v1.1.455), token merging, prompt comments, and what the infotext says.

The double's sampler paints ``init * (1 - d) + colour(seed, prompt) * d``; the ControlNet
stand-in then pulls every pixel halfway (weight 1) towards the mean colour of each unit's
hint image, so a pixel tells which pass made it and which units acted there.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.facepop_webui import (
    BACKGROUND,
    CONTROLNET,
    FACE_SETTINGS,
    ROOT,
    TILE,
    colour,
    face_centre,
    facepop_args,
    generate,
    passes,
    pixel,
)
from tests.webui_double_fixtures import FLAVOURS

WEBUI_FLAVOURS = FLAVOURS  # the host-behaviour tests run in both flavours of the double

FACE_PASS = dict(FACE_SETTINGS, separate_face_processing=True, face_prompt="face",
                 face_denoising_strength=1.0)
BLUE, RED = (0, 0, 255), (255, 0, 0)


def _scene(astronaut: np.ndarray, coffee: np.ndarray, face_tiles: set[int]) -> Image.Image:
    """Three 512-px tiles in a row: the astronaut in ``face_tiles``, a face-free photo else."""
    empty = cv2.resize(coffee, (TILE, TILE), interpolation=cv2.INTER_AREA)
    return Image.fromarray(np.hstack([astronaut if i in face_tiles else empty
                                      for i in range(3)]))


def _pulled(value, hint, weight: float = 1.0) -> tuple[int, int, int]:
    """A pixel the ControlNet stand-in pulled towards ``hint`` (then decoded, rounding)."""
    pull = min(1.0, weight * 0.5)
    mixed = np.asarray(value, float) * (1 - pull) + np.asarray(hint, float) * pull
    return tuple(int(v) for v in np.floor(mixed + 0.5))


def _controlnet(webui):
    """Install the ControlNet stand-in and FacePop; the stand-in's module globals."""
    webui.install_extension(CONTROLNET, name="sd-webui-controlnet")
    runner = webui.load_extension(ROOT)
    return type(runner.script("ControlNet")).process.__globals__


def _unit(module_globals, **fields):
    return module_globals["ControlNetUnit"](enabled=True, **fields)


# --- one p, many jobs -------------------------------------------------------------------

def test_batch_tab_gives_every_image_its_own_face_pass(webui, astronaut, coffee, tmp_path
                                                       ) -> None:
    webui.load_extension(ROOT)
    folder = tmp_path / "renders"
    folder.mkdir()
    face_tiles = (0, 1, 0)  # the second render's face sits where the first's was not
    for i, tile in enumerate(face_tiles):
        _scene(astronaut, coffee, {tile}).save(folder / f"render{i + 1}.png")

    images, *_ = webui.run_img2img(None, batch_input_dir=str(folder), width=3 * TILE,
                                   height=TILE, prompt="photo", denoising_strength=1.0,
                                   script_args=facepop_args(webui, **FACE_PASS))
    main, nested = passes(webui)
    assert len(main) == 3 and len(nested) == 3  # one face pass per image
    seed = main[0]["seeds"][0]  # the Batch tab fixes one seed for every image
    for image, tile in zip(images, face_tiles, strict=True):
        assert pixel(image, face_centre(tile)) == colour(webui, seed, "face")
        for other in {0, 1, 2} - {tile}:  # no face here: the main pass worked here
            assert pixel(image, face_centre(other)) == colour(webui, seed, "photo")
    assert webui.reports == []


def test_nothing_of_one_job_survives_into_the_next(webui, astronaut, coffee) -> None:
    runner = webui.load_extension(ROOT)
    processing = webui.processing
    p = processing.StableDiffusionProcessingImg2Img(
        init_images=[_scene(astronaut, coffee, {0})], width=3 * TILE, height=TILE,
        prompt="photo", denoising_strength=1.0, mask_blur=4, do_not_save_samples=True,
        do_not_save_grid=True,
        # Not what FacePop sets for its own mask (1, False, 0), so that one left behind shows.
        inpainting_fill=2, inpaint_full_res=True, inpainting_mask_invert=1)
    p.scripts = runner
    p.script_args = facepop_args(webui, **FACE_PASS)

    def carried(job) -> dict:
        """What a reused p carries into the next job."""
        return {"init_images": [id(image) for image in job.init_images],
                "image_mask": job.image_mask, "inpainting_fill": job.inpainting_fill,
                "inpaint_full_res": job.inpaint_full_res,
                "inpainting_mask_invert": job.inpainting_mask_invert,
                "overlay_images": job.overlay_images, "mask_for_overlay": job.mask_for_overlay,
                "paste_to": job.paste_to, "script_args": job.script_args,
                "latent_masks": (job.mask is None, job.nmask is None),
                "infotext": sorted(key for key in job.extra_generation_params
                                   if key.startswith("FacePop") or key.startswith("Mask"))}

    before = carried(p)
    first = processing.process_images(p)
    assert carried(p) == before
    assert "FacePop faces: 1" in first.infotexts[0]  # the job itself did say it

    p.init_images = [_scene(astronaut, coffee, {2})]  # as the Batch tab does
    before = carried(p)
    second = processing.process_images(p)
    assert carried(p) == before
    seed = second.all_seeds[0]
    assert pixel(second.images[0], face_centre(2)) == colour(webui, seed, "face")
    assert pixel(second.images[0], face_centre(0)) == colour(webui, seed, "photo")
    assert len(passes(webui)[1]) == 2


def test_loopback_processes_the_faces_of_every_loop(webui, astronaut) -> None:
    webui.load_extension(ROOT)
    settings = dict(FACE_PASS, face_denoising_strength=0.3)  # the face survives each loop
    args = facepop_args(webui, {"Loopback": [3, 0.3, "Linear", "None"]}, "Loopback",
                        **settings)
    generate(webui, Image.fromarray(astronaut), settings=settings, script_args=args,
             denoising_strength=0.3)
    main, nested = passes(webui)
    assert len(main) == 3 and len(nested) == 3  # 6 sampling passes: 3 main, 3 face
    for job, face_pass in zip(main, nested, strict=True):
        assert face_pass["seeds"] == job["seeds"] and face_pass["prompts"] == ["face"]
        # FacePop's own protection mask, made for this loop's image, not the loop before's
        (batch,) = job["batches"]
        assert batch["image_mask_given"] and batch["inpaint_full_res"] is False


def test_colour_correction_targets_the_picture_the_main_pass_starts_from(webui, astronaut
                                                                         ) -> None:
    webui.load_extension(ROOT)
    webui.shared.opts.img2img_color_correction = True
    generate(webui, Image.fromarray(astronaut), settings=FACE_PASS, n_iter=2)
    (main,), nested = passes(webui)
    # index 0: made from the composite the batch samples from, not the picture before it
    assert [batch["color_correction_targets"] for batch in main["batches"]] == [[0], [0]]
    assert len(nested) == 2

    webui.processing.reset_process_images_log()
    settings = dict(FACE_PASS, face_denoising_strength=0.3)  # the face survives each loop
    args = facepop_args(webui, {"Loopback": [2, 0.3, "Linear", "None"]}, "Loopback",
                        **settings)
    generate(webui, Image.fromarray(astronaut), settings=settings, script_args=args,
             denoising_strength=0.3)
    main, nested = passes(webui)
    assert len(nested) == 2  # (Loopback alone would keep the first loop's target: -1)
    assert [job["batches"][0]["color_correction_targets"] for job in main] == [[0], [0]]
    assert webui.reports == []


def test_return_and_save_mask_never_give_facepops_own_mask(webui, astronaut) -> None:
    webui.load_extension(ROOT)
    opts = webui.shared.opts
    opts.return_mask = opts.save_mask = True
    opts.return_grid = False
    images = generate(webui, Image.fromarray(astronaut), settings=FACE_PASS)
    assert len(images) == 1  # no mask of the user's: none comes out
    samples = webui.data_path / "outputs"
    assert not [path for path in samples.rglob("*-mask.png")]

    user_mask = np.zeros(astronaut.shape[:2], np.uint8)
    user_mask[300:, :] = 255  # the suit
    mask = Image.fromarray(user_mask)
    off = generate(webui, Image.fromarray(astronaut), mask=mask,
                   settings=dict(FACE_PASS, enabled=False))
    on = generate(webui, Image.fromarray(astronaut), mask=mask, settings=FACE_PASS)
    assert len(on) == len(off) == 2
    assert np.array_equal(np.asarray(on[1]), np.asarray(off[1]))  # the user's own mask
    assert len(list(samples.rglob("*-mask.png"))) == 2


# --- what the main pass and the face pass sample with -----------------------------------

def test_the_main_pass_keeps_the_users_token_merging(webui, astronaut) -> None:
    webui.load_extension(ROOT)
    webui.shared.opts.token_merging_ratio_img2img = 0.5
    (image,) = generate(webui, Image.fromarray(astronaut), settings=FACE_SETTINGS, n_iter=1)
    (main,), (face_pass,) = passes(webui)
    assert face_pass["batches"][0]["token_merging_ratio"] == 0.5
    assert main["batches"][0]["token_merging_ratio"] == 0.5
    assert "Token merging ratio: 0.5" in image.info["parameters"]


def test_face_prompts_are_the_prompts_the_webui_samples_with(webui, astronaut) -> None:
    webui.load_extension(ROOT)
    comments = webui.module("modules.processing_scripts.comments").strip_comments

    def strip(text: str) -> str:  # (Forge strips comments with the styles, and blanks)
        return comments(text).strip() if webui.forge else comments(text)

    prompt = "photo of a woman # shot 12, redo\n# wardrobe: suit\nsmiling"
    generate(webui, Image.fromarray(astronaut), settings=FACE_SETTINGS, prompt=prompt,
             n_iter=2)
    (main,), nested = passes(webui)
    sampled = [prompts for batch in main["batches"] for prompts in batch["prompts"]]
    assert sampled == [strip(prompt)] * 2
    assert [entry["prompts"] for entry in nested] == [[strip(prompt)]] * 2

    webui.processing.reset_process_images_log()
    settings = dict(FACE_PASS, face_prompt="freckles # ask the client")
    generate(webui, Image.fromarray(astronaut), settings=settings)
    _, (face_pass,) = passes(webui)
    assert face_pass["batches"][0]["prompts"] == [strip("freckles # ask the client")]


def test_infotext_says_how_many_faces_and_which_masks(webui, astronaut, coffee) -> None:
    webui.load_extension(ROOT)
    (image,) = generate(webui, _scene(astronaut, coffee, {0, 2}), settings=FACE_SETTINGS)
    params = image.info["parameters"]
    assert "FacePop faces: 2" in params and "FacePop mask used: ellipse" in params

    (plain,) = generate(webui, Image.fromarray(coffee), settings=FACE_SETTINGS)
    assert "FacePop faces: 0" in plain.info["parameters"]
    assert "FacePop mask used" not in plain.info["parameters"]


# --- ControlNet beside FacePop ----------------------------------------------------------

@pytest.mark.webui_flavours("a1111")  # Forge: tests/test_webui_forge.py
def test_controlnet_acts_in_the_face_pass_and_in_every_main_pass(webui, astronaut, caplog
                                                                 ) -> None:
    cn = _controlnet(webui)
    unit = _unit(cn, module="ip-adapter_clip_sd15", model="ip-adapter-plus-face_sd15",
                 image=np.full((64, 64, 3), BLUE, np.uint8))
    caplog.set_level(logging.WARNING)
    images = generate(webui, Image.fromarray(astronaut), settings=FACE_PASS, n_iter=2,
                      overrides={"ControlNet": [unit]})
    (main,), nested = passes(webui)
    assert len(nested) == 2
    outputs = [im for im in images if im.size == (TILE, TILE)]
    detected_maps = [im for im in images if im.size == (64, 64)]
    for batch, output in enumerate(outputs):
        seed = main["seeds"][batch]
        assert pixel(output, (224, 125)) == _pulled(colour(webui, seed, "face"), BLUE)
        assert pixel(output, BACKGROUND) == _pulled(colour(webui, seed, "photo"), BLUE)
    assert len(detected_maps) == 1 and pixel(detected_maps[0], (3, 3)) == BLUE
    # the job's hook, then per batch: the face pass's own hook and the job's hook again
    main_size, face_size = (1, TILE, TILE), (1, 256, 256)
    assert [hook["size"] for hook in cn["HOOKS"]] == [main_size, face_size, main_size,
                                                      face_size, main_size]
    assert "consistent random seed" not in caplog.text
    assert webui.reports == []
    unet = webui.shared.sd_model.model.diffusion_model
    assert not hasattr(unet, "_original_forward")  # nothing left hooked after the job


@pytest.mark.webui_flavours("a1111")  # Forge: tests/test_webui_forge.py
def test_without_controlnet_in_the_face_pass_the_faces_get_a_clean_unet(webui, astronaut
                                                                        ) -> None:
    cn = _controlnet(webui)
    unit = _unit(cn, module="ip-adapter_clip_sd15", image=np.full((64, 64, 3), BLUE, np.uint8))
    settings = dict(FACE_PASS, face_pass_scripts="")
    images = generate(webui, Image.fromarray(astronaut), settings=settings, n_iter=2,
                      overrides={"ControlNet": [unit]})
    (main,), nested = passes(webui)
    assert len(nested) == 2 and all(entry["batches"] for entry in nested)
    outputs = [im for im in images if im.size == (TILE, TILE)]
    for batch, output in enumerate(outputs):
        seed = main["seeds"][batch]
        assert pixel(output, (224, 125)) == colour(webui, seed, "face")  # not pulled
        assert pixel(output, BACKGROUND) == _pulled(colour(webui, seed, "photo"), BLUE)
    assert webui.reports == []


@pytest.mark.webui_flavours("a1111")  # Forge: tests/test_webui_forge.py
def test_a_reference_unit_without_an_image_sees_the_main_pass_picture(webui, astronaut
                                                                      ) -> None:
    cn = _controlnet(webui)
    unit = _unit(cn, module="reference_only")
    generate(webui, Image.fromarray(astronaut), settings=FACE_PASS,
             overrides={"ControlNet": [unit]})
    hooks = cn["HOOKS"]
    whole = tuple(np.asarray(astronaut, float).reshape(-1, 3).mean(axis=0))
    assert [hook["size"] for hook in hooks] == [(1, TILE, TILE), (1, 256, 256), (1, TILE, TILE)]
    main_hook, face_hook, _ = hooks
    for hook in (main_hook, face_hook):  # the face pass sees what the main pass was given
        (hint, _), = hook["hints"]
        assert np.allclose(hint, whole, atol=0.5)


@pytest.mark.webui_flavours("a1111")  # Forge: tests/test_webui_forge.py
def test_spatial_units_see_each_face_cut_out_like_the_face(webui, astronaut) -> None:
    cn = _controlnet(webui)
    tinted = np.hstack([astronaut, (astronaut * [1.0, 0.4, 0.4]).astype(np.uint8),
                        (astronaut * [0.4, 0.4, 1.0]).astype(np.uint8)])
    thirds = np.zeros((TILE, 3 * TILE, 3), np.uint8)
    thirds[:, :TILE], thirds[:, TILE:2 * TILE], thirds[:, 2 * TILE:] = RED, (0, 255, 0), BLUE
    units = [_unit(cn, module="canny"), _unit(cn, module="openpose", image=thirds)]
    generate(webui, Image.fromarray(tinted), settings=FACE_PASS,
             overrides={"ControlNet": units})
    _, nested = passes(webui)
    face_hooks = [hook for hook in cn["HOOKS"] if hook["size"][1:] == (256, 256)]
    # A control map is one picture per pass: one face per pass, each with its own cut-out.
    assert [entry["batch_size"] for entry in nested] == [1, 1, 1]
    assert len(face_hooks) == 3
    own_crops = [hook["hints"][0][0] for hook in face_hooks]
    assert own_crops[1][0] > own_crops[1][2] and own_crops[2][2] > own_crops[2][0]
    for hook, expected in zip(face_hooks, (RED, (0, 255, 0), BLUE), strict=True):
        assert np.allclose(hook["hints"][1][0], expected, atol=2), hook


@pytest.mark.webui_flavours("a1111")  # Forge: tests/test_webui_forge.py
def test_a_unit_can_be_given_to_the_face_pass_alone(webui, astronaut) -> None:
    cn = _controlnet(webui)
    units = [_unit(cn, module="ip-adapter_clip_sd15", image=np.full((8, 8, 3), BLUE, np.uint8)),
             _unit(cn, module="ip-adapter_clip_sd15", image=np.full((8, 8, 3), RED, np.uint8))]
    settings = dict(FACE_PASS, face_pass_controlnet_units="1")
    (image, _) = generate(webui, Image.fromarray(astronaut), settings=settings,
                          overrides={"ControlNet": units})
    (main,), _ = passes(webui)
    seed = main["seeds"][0]
    assert pixel(image, (224, 125)) == _pulled(colour(webui, seed, "face"), RED)
    assert pixel(image, BACKGROUND) == _pulled(colour(webui, seed, "photo"), BLUE)
    # the user's units are as they were after the job
    assert all(unit.enabled for unit in units)


@pytest.mark.parametrize("text", ["x", "1,,2", "-1", "1.5"])
def test_face_pass_units_must_be_unit_numbers(text) -> None:
    from lib_facepop.errors import SettingsError
    from lib_facepop.settings import FacePopSettings

    with pytest.raises(SettingsError, match="face_pass_controlnet_units"):
        FacePopSettings(face_pass_controlnet_units=text)
