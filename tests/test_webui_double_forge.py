"""Self-tests of the Forge flavour of the WebUI test double: each checks one behaviour of
Forge (main) the double imitates, so it fails if that imitation breaks."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

WEBUI_FLAVOURS = ("forge",)
FREEU = "FreeU Integrated (SD 1.x, SD 2.x, SDXL)"


def _p(webui, **kwargs):
    kwargs.setdefault("width", 32)
    kwargs.setdefault("height", 32)
    kwargs.setdefault("prompt", "x")
    kwargs.setdefault("seed", 3)
    kwargs.setdefault("denoising_strength", 1.0)
    kwargs.setdefault("do_not_save_samples", True)
    kwargs.setdefault("do_not_save_grid", True)
    return webui.processing.StableDiffusionProcessingImg2Img(**kwargs)


def _runner(webui):
    webui.load_scripts()
    return webui.create_ui()


def test_forge_has_its_built_in_scripts_and_no_comments_script(webui) -> None:
    runner = _runner(webui)
    titles = [script.title() for script in runner.alwayson_scripts]
    assert titles[0] == "ControlNet" and FREEU in titles and "Comments" not in titles
    registry = webui.module("modules_forge.shared").supported_preprocessors
    assert {"None", "canny", "CLIP-ViT-H (IPAdapter)", "InsightFace (InstantID)",
            "CLIP-G (Revision)", "reference_only"} <= set(registry)


def test_a_unet_patch_lives_for_one_sampling(webui) -> None:
    runner = _runner(webui)
    p = _p(webui, init_images=[Image.new("RGB", (32, 32), (50, 50, 50))], n_iter=2)
    p.scripts = runner
    p.script_args = webui.ui_args(runner, {FREEU: {0: True}})
    processed = webui.processing.process_images(p)
    batches = webui.process_images_log[-1]["batches"]
    assert [batch["unet_patches"] for batch in batches] == [["freeu"], ["freeu"]]
    model = webui.shared.sd_model
    assert model.forge_objects_original.unet.patches == []
    painted = webui.processing.expected_colour(webui.process_images_log[-1]["seeds"][0], "x")
    assert processed.images[0].getpixel((5, 5)) == (painted[0] + 6, painted[1], painted[2])
    assert processed.extra_generation_params["freeu_enabled"] is True


def test_comments_go_when_styles_are_applied(webui) -> None:
    p = _p(webui, init_images=[Image.new("RGB", (32, 32))], prompt="a # b\n# c\nd")
    webui.processing.process_images(p)
    assert webui.process_images_log[-1]["prompts"] == ["a \nd"]
    webui.shared.opts.enable_prompt_comments = False
    p = _p(webui, init_images=[Image.new("RGB", (32, 32))], prompt="a # b")
    webui.processing.process_images(p)
    assert webui.process_images_log[-1]["prompts"] == ["a # b"]


def test_token_merging_patches_each_samplings_copy(webui, capsys) -> None:
    webui.shared.opts.token_merging_ratio_img2img = 0.3
    p = _p(webui, init_images=[Image.new("RGB", (32, 32))], n_iter=2)
    webui.processing.process_images(p)
    batches = webui.process_images_log[-1]["batches"]
    assert [batch["token_merging_ratio"] for batch in batches] == [0.3, 0.3]
    assert webui.shared.sd_model.forge_objects_original.unet.token_merging_ratio == 0
    assert capsys.readouterr().out.count("token_merging_ratio = 0.3") == 2


def test_controlnet_adds_its_maps_at_every_process_call(webui) -> None:
    runner = _runner(webui)
    cn = type(runner.script("ControlNet")).process.__globals__
    unit = cn["ControlNetUnit"](module="canny", image=np.full((16, 16, 3), 200, np.uint8))
    args = webui.ui_args(runner, {"ControlNet": [unit]})
    images, *_ = webui.run_img2img(Image.new("RGB", (32, 32)), width=32, height=32,
                                   script_args=args)
    assert [im.size for im in images] == [(32, 32), (16, 16)]  # the image, then the map
    assert cn["PREPROCESSOR_RUNS"] == ["canny"]
    # What the issue measured: ControlNet closed and opened again adds its maps again.
    p = _p(webui, init_images=[Image.new("RGB", (32, 32))])
    p.scripts, p.script_args = runner, args
    script = runner.script("ControlNet")
    script.process(p, unit, *args[script.args_from + 1:script.args_to])
    script.process(p, unit, *args[script.args_from + 1:script.args_to])
    assert len(p.extra_result_images) == 2


def test_controlnet_without_its_params_fails_at_sampling(webui) -> None:
    runner = _runner(webui)
    cn = type(runner.script("ControlNet")).process.__globals__
    unit = cn["ControlNetUnit"](module="canny", image=np.full((16, 16, 3), 200, np.uint8))
    p = _p(webui, init_images=[Image.new("RGB", (32, 32))])
    p.scripts, p.script_args = runner, webui.ui_args(runner, {"ControlNet": [unit]})
    script = runner.script("ControlNet")
    script.process(p, *p.script_args[script.args_from:script.args_to])
    script.postprocess(p, None)  # (a nested job's postprocess on the shared script)
    with pytest.raises(KeyError):
        script.process_before_every_sampling(p, *p.script_args[script.args_from:script.args_to])


def test_flux_writes_its_distilled_cfg_into_the_infotext(webui) -> None:
    p = _p(webui, init_images=[Image.new("RGB", (32, 32))], distilled_cfg_scale=5.0)
    assert "Distilled CFG Scale" not in webui.processing.process_images(p).infotexts[0]
    webui.shared.sd_model.use_distilled_cfg_scale = True
    p = _p(webui, init_images=[Image.new("RGB", (32, 32))], distilled_cfg_scale=5.0)
    assert "Distilled CFG Scale: 5.0" in webui.processing.process_images(p).infotexts[0]
    assert webui.process_images_log[-1]["distilled_cfg_scale"] == 5.0


def test_out_of_memory_is_retried_with_sliced_attention_first(webui, capsys) -> None:
    processing = webui.processing
    processing.limit_sampler_memory(32 * 32 * 2 // 2)  # what 2 items need when sliced
    processing.process_images(_p(webui, init_images=[Image.new("RGB", (32, 32))],
                                 batch_size=2))
    assert "out of memory error, emptying cache and trying again" in capsys.readouterr().out
    processing.limit_sampler_memory(32 * 32 * 2 // 2 - 1)
    with pytest.raises(Exception) as raised:
        processing.process_images(_p(webui, init_images=[Image.new("RGB", (32, 32))],
                                     batch_size=2))
    assert type(raised.value).__name__ == "OutOfMemoryError"
    assert webui.module("backend.memory_management").soft_empty_cache_calls
