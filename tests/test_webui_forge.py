"""FacePop in Forge (the Forge flavour of the WebUI test double): Forge's built-in
ControlNet and its IP-Adapter / InstantID / Revision units, its UNet patchers, Flux's
distilled CFG, canvas layers, token merging per sampling (docs/design.md section 4a).

The double's sampler paints ``init * (1 - d) + colour(seed, prompt) * d``; Forge's
ControlNet stand-in then pulls every pixel halfway (weight 1) towards the mean colour of
each unit's picture, where its mask is set; each UNet patcher stand-in adds its own shift.
"""

from __future__ import annotations

import sys
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from lib_facepop.webui.controlnet_units import is_reference_unit
from tests.facepop_webui import (
    BACKGROUND,
    FACE_SETTINGS,
    ROOT,
    TILE,
    colour,
    face_centre,
    generate,
    passes,
    pixel,
)

forge_only = pytest.mark.parametrize("webui", ["forge"], indirect=True)
FACE_PASS = dict(FACE_SETTINGS, separate_face_processing=True, face_prompt="face",
                 face_denoising_strength=1.0)
BLUE, RED = (0, 0, 255), (255, 0, 0)
FREEU = "FreeU Integrated (SD 1.x, SD 2.x, SDXL)"
SAG = "SelfAttentionGuidance Integrated (SD 1.x, SD 2.x, SDXL)"


def _controlnet(webui):
    """FacePop loaded beside Forge's built-in ControlNet; the stand-in's module globals."""
    webui.install_controlnet()
    runner = webui.load_extension(ROOT)
    return type(runner.script("ControlNet")).process.__globals__


def _unit(cn, **fields):
    return cn["ControlNetUnit"](enabled=True, **fields)


def _pulled(value, hint, weight: float = 1.0) -> tuple[int, int, int]:
    pull = min(1.0, weight * 0.5)
    mixed = np.asarray(value, float) * (1 - pull) + np.asarray(hint, float) * pull
    return tuple(int(v) for v in np.floor(mixed + 0.5))


# --- which units are references ----------------------------------------------------------

FORGE_REFERENCES = ["CLIP-ViT-H (IPAdapter)", "CLIP-ViT-bigG (IPAdapter)",
                    "InsightFace+CLIP-H (IPAdapter)", "InsightFace (InstantID)",
                    "CLIP-G (Revision)", "CLIP-G (Revision ignore prompt)", "reference_only",
                    "reference_adain+attn", "shuffle"]
FORGE_SPATIAL = ["canny", "depth_midas", "openpose_full", "lineart_realistic",
                 "tile_resample", "instant_id_face_keypoints", "mediapipe_face"]


@forge_only
def test_forges_preprocessors_say_which_units_are_references(webui) -> None:
    webui.load_scripts()  # the built-in extensions register their preprocessors
    registry = webui.module("modules_forge.shared").supported_preprocessors
    for name in FORGE_REFERENCES:
        assert is_reference_unit({"module": name}, registry), name
    for name in FORGE_SPATIAL:
        assert not is_reference_unit({"module": name}, registry), name
    # A preprocessor FacePop has never heard of is judged by what it is, not by its name.
    base = webui.module("modules_forge.supported_preprocessor")
    new_face_id = base.PreprocessorClipVision("FaceVision v9", "", "x.safetensors")
    new_face_id.tags = ["IP-Adapter"]
    new_depth = base.Preprocessor()
    new_depth.name, new_depth.tags = "ip-adapter-shaped depth", ["Depth"]
    registry = {**registry, new_face_id.name: new_face_id, new_depth.name: new_depth}
    assert is_reference_unit({"module": "FaceVision v9"}, registry)
    assert not is_reference_unit({"module": "ip-adapter-shaped depth"}, registry)


@pytest.mark.parametrize("name", FORGE_REFERENCES)
def test_forge_and_reforge_names_are_references_without_the_registry(name) -> None:
    assert is_reference_unit(SimpleNamespace(module=name, model="None"))


@pytest.mark.parametrize("name", ["canny", "depth_midas", "instant_id_face_keypoints",
                                  "openpose_full", "tile_resample"])
def test_spatial_names_stay_spatial_without_the_registry(name) -> None:
    assert not is_reference_unit({"module": name, "model": "control_v11p_sd15_canny"})


@forge_only
@pytest.mark.parametrize("name", ["CLIP-ViT-H (IPAdapter)", "InsightFace (InstantID)",
                                  "CLIP-G (Revision)"])
def test_a_forge_reference_unit_keeps_its_image_and_the_faces_share_one_pass(
        webui, three_faces, name) -> None:
    cn = _controlnet(webui)
    unit = _unit(cn, module=name, image=np.full((64, 64, 3), BLUE, np.uint8))
    generate(webui, three_faces, settings=FACE_PASS, overrides={"ControlNet": [unit]})
    _, nested = passes(webui)
    assert [entry["batch_size"] for entry in nested] == [3]  # not one pass per face
    face_hooks = [hook for hook in cn["HOOKS"] if hook["size"][1:] == (256, 256)]
    (hook,) = face_hooks
    assert hook["hints"] == [(tuple(float(v) for v in BLUE), "unit")]  # the whole reference
    assert webui.reports == []



@forge_only
@pytest.mark.parametrize(("engine", "batch_sizes"), [("forge", [3]), ("reforge", [1, 1, 1])])
def test_reference_only_faces_go_one_per_pass_in_reforge(
        webui, three_faces, monkeypatch, engine, batch_sizes) -> None:
    """reForge's reference-only preprocessors fail on any batch larger than one (checked in
    a running reForge, without FacePop too): there its faces go one per pass."""
    if engine == "reforge":  # reForge's engine, loaded at its start
        monkeypatch.setitem(sys.modules, "ldm_patched", ModuleType("ldm_patched"))
    cn = _controlnet(webui)
    unit = _unit(cn, module="reference_only", image=np.full((64, 64, 3), BLUE, np.uint8))
    generate(webui, three_faces, settings=FACE_PASS, overrides={"ControlNet": [unit]})
    _, nested = passes(webui)
    assert [entry["batch_size"] for entry in nested] == batch_sizes
    assert webui.reports == []


# --- ControlNet's state: no duplicated maps, no preprocessing per batch -------------------

@forge_only
def test_controlnet_maps_come_out_once_and_preprocessors_run_once_per_job(
        webui, astronaut) -> None:
    cn = _controlnet(webui)
    unit = _unit(cn, module="CLIP-ViT-H (IPAdapter)",
                 image=np.full((64, 64, 3), BLUE, np.uint8))
    images = generate(webui, Image.fromarray(astronaut), settings=FACE_PASS, n_iter=2,
                      overrides={"ControlNet": [unit]})
    (main,), nested = passes(webui)
    outputs = [im for im in images if im.size == (TILE, TILE)]
    maps = [im for im in images if im.size == (64, 64)]
    assert len(outputs) == 2 and len(maps) == 1  # the job's one map, as without FacePop
    # the job's own run, and each face pass's own run (its own process)
    assert cn["PREPROCESSOR_RUNS"] == ["CLIP-ViT-H (IPAdapter)"] * 3
    main_hooks = [hook for hook in cn["HOOKS"] if hook["size"] == (1, TILE, TILE)]
    assert len(main_hooks) == 2 and all(h["params_sizes"] == [(TILE, TILE)] for h in main_hooks)
    for batch, output in enumerate(outputs):
        seed = main["seeds"][batch]
        assert pixel(output, face_centre(0)) == _pulled(colour(webui, seed, "face"), BLUE)
        assert pixel(output, BACKGROUND) == _pulled(colour(webui, seed, "photo"), BLUE)
    assert len(nested) == 2 and webui.reports == []


@forge_only
def test_units_only_for_faces_on_forge_keep_one_map_each(webui, astronaut) -> None:
    cn = _controlnet(webui)
    units = [_unit(cn, module="CLIP-ViT-H (IPAdapter)",
                   image=np.full((8, 8, 3), BLUE, np.uint8)),
             _unit(cn, module="CLIP-ViT-H (IPAdapter)",
                   image=np.full((8, 8, 3), RED, np.uint8))]
    settings = dict(FACE_PASS, face_pass_controlnet_units="1")
    images = generate(webui, Image.fromarray(astronaut), settings=settings, n_iter=2,
                      overrides={"ControlNet": units})
    (main,), _ = passes(webui)
    outputs = [im for im in images if im.size == (TILE, TILE)]
    assert len([im for im in images if im.size == (8, 8)]) == 2  # each unit's map, once
    for batch, output in enumerate(outputs):
        seed = main["seeds"][batch]
        assert pixel(output, face_centre(0)) == _pulled(colour(webui, seed, "face"), RED)
        assert pixel(output, BACKGROUND) == _pulled(colour(webui, seed, "photo"), BLUE)
    assert webui.reports == []


@forge_only
def test_txt2img_faces_on_forge_keep_the_jobs_controlnet(webui, astronaut) -> None:
    cn = _controlnet(webui)
    webui.processing.set_txt2img_picture(Image.fromarray(astronaut))
    unit = _unit(cn, module="CLIP-ViT-H (IPAdapter)",
                 image=np.full((64, 64, 3), BLUE, np.uint8))
    args = webui.txt2img_ui_args({"FacePop": _positional(FACE_PASS), "ControlNet": [unit]})
    images, *_ = webui.run_txt2img(prompt="photo", n_iter=2, script_args=args)
    assert len([im for im in images if im.size == (64, 64)]) == 1
    assert cn["PREPROCESSOR_RUNS"] == ["CLIP-ViT-H (IPAdapter)"] * 3
    assert webui.reports == []


def _positional(settings: dict) -> list:
    from lib_facepop.settings import FacePopSettings

    return FacePopSettings(**settings).to_positional()


# --- UNet patchers, Flux, canvas layers, token merging -----------------------------------

@forge_only
def test_forges_unet_patchers_act_on_the_faces_as_on_the_body(webui, astronaut) -> None:
    webui.load_extension(ROOT)
    on = {FREEU: {0: True}, SAG: {0: True}}
    images = generate(webui, Image.fromarray(astronaut), settings=FACE_PASS, overrides=on)
    (main,), (face_pass,) = passes(webui)
    assert main["batches"][0]["unet_patches"] == ["freeu", "sag"]
    assert face_pass["batches"][0]["unet_patches"] == ["freeu", "sag"]
    seed = main["seeds"][0]
    shifted = lambda rgb: tuple(int(v) for v in np.clip(np.add(rgb, (6, 6, 0)), 0, 255))  # noqa: E731
    assert pixel(images[0], face_centre(0)) == shifted(colour(webui, seed, "face"))
    assert pixel(images[0], BACKGROUND) == shifted(colour(webui, seed, "photo"))

    webui.processing.reset_process_images_log()  # named scripts only: as the user says
    generate(webui, Image.fromarray(astronaut), settings=dict(FACE_PASS, face_pass_scripts="sag"),
             overrides=on)
    _, (face_pass,) = passes(webui)
    assert face_pass["batches"][0]["unet_patches"] == ["sag"]


@forge_only
def test_nothing_stays_patched_on_the_model_after_the_job(webui, astronaut) -> None:
    cn = _controlnet(webui)
    unit = _unit(cn, module="canny", image=np.full((64, 64, 3), BLUE, np.uint8))
    generate(webui, Image.fromarray(astronaut), settings=FACE_PASS, n_iter=2,
             overrides={"ControlNet": [unit], FREEU: {0: True}})
    model = webui.shared.sd_model
    assert model.forge_objects_original.unet.patches == []
    assert model.forge_objects_after_applying_lora.unet.patches == []
    webui.processing.reset_process_images_log()
    generate(webui, Image.fromarray(astronaut), settings=dict(FACE_PASS, enabled=False))
    (plain,), _ = passes(webui)
    assert plain["batches"][0]["unet_patches"] == []


@forge_only
def test_flux_faces_get_the_jobs_distilled_cfg(webui, astronaut) -> None:
    webui.load_extension(ROOT)
    webui.shared.sd_model.use_distilled_cfg_scale = True
    runner = webui.module("modules.scripts").scripts_img2img
    p = webui.processing.StableDiffusionProcessingImg2Img(
        init_images=[Image.fromarray(astronaut)], width=TILE, height=TILE, prompt="photo",
        denoising_strength=1.0, distilled_cfg_scale=7.0, do_not_save_samples=True,
        do_not_save_grid=True)
    p.scripts = runner
    jobs_values = dict(FACE_PASS, separate_face_processing=False)
    p.script_args = webui.ui_args(runner, {"FacePop": _positional(jobs_values)})
    processed = webui.processing.process_images(p)
    (main,), (face_pass,) = passes(webui)
    assert main["distilled_cfg_scale"] == face_pass["distilled_cfg_scale"] == 7.0
    assert "Distilled CFG Scale: 7.0" in processed.infotexts[0]

    # With separate face processing, the face pass's own, as with the face CFG scale
    webui.processing.reset_process_images_log()
    own = dict(FACE_PASS, face_distilled_cfg_scale=2.5)
    p.script_args = webui.ui_args(runner, {"FacePop": _positional(own)})
    webui.processing.process_images(p)
    (main,), (face_pass,) = passes(webui)
    assert (main["distilled_cfg_scale"], face_pass["distilled_cfg_scale"]) == (7.0, 2.5)


@forge_only
def test_canvas_layers_are_cut_like_the_face(webui, astronaut) -> None:
    cn = _controlnet(webui)
    drawn_on_the_suit = np.zeros((TILE, TILE, 4), np.uint8)
    drawn_on_the_suit[400:, :, 3] = 255  # the foreground drawn far below the face
    unit = _unit(cn, module="canny", image=np.full((TILE, TILE, 3), BLUE, np.uint8),
                 image_fg=drawn_on_the_suit)
    generate(webui, Image.fromarray(astronaut), settings=FACE_PASS,
             overrides={"ControlNet": [unit]})
    face_hook, main_hook = cn["HOOKS"]  # (Forge patches at sampling: the face pass first)
    assert main_hook["masks"][0] == pytest.approx(112 / 512)
    assert face_hook["size"] == (1, 256, 256)
    assert face_hook["masks"] == [None]  # the face's cut-out has nothing drawn on it

    cn["HOOKS"].clear()
    over_the_face = np.zeros((TILE, TILE, 4), np.uint8)
    over_the_face[:125, :, 3] = 255  # down to the middle of the face
    unit = _unit(cn, module="canny", image=np.full((TILE, TILE, 3), BLUE, np.uint8),
                 mask_image_fg=over_the_face)
    generate(webui, Image.fromarray(astronaut), settings=FACE_PASS,
             overrides={"ControlNet": [unit]})
    face_hook, _ = cn["HOOKS"]
    assert 0.2 < face_hook["masks"][0] < 1.0  # the mask over the face, cut like the face
    assert webui.reports == []


@forge_only
def test_token_merging_is_left_to_forge(webui, astronaut, capsys) -> None:
    webui.load_extension(ROOT)
    webui.shared.opts.token_merging_ratio_img2img = 0.5
    generate(webui, Image.fromarray(astronaut), settings=FACE_PASS, n_iter=2)
    (main,), nested = passes(webui)
    samplings = [batch for job in (main, *nested) for batch in job["batches"]]
    assert len(samplings) == 4 and all(b["token_merging_ratio"] == 0.5 for b in samplings)
    # Forge says it once per sampling; FacePop adds nothing to that
    assert capsys.readouterr().out.count("token_merging_ratio = 0.5") == len(samplings)
