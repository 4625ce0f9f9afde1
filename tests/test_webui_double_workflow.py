"""Self-tests of the test double's host behaviours behind the WebUI workflow: jobs that
reuse one `p` (Batch tab, Loopback, SD upscale), the built-in Comments script running after
the extensions, token merging reset in process_images' `finally`, and the ControlNet
stand-in (tests/stand_ins) that hooks the UNet for one job. Each fails if the double stops
imitating the real A1111 v1.10.1 (or sd-webui-controlnet v1.1.455) there."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from tests.helpers import write_extension
from tests.webui_double_fixtures import webui  # noqa: F401 (the fixture)

CONTROLNET = Path(__file__).resolve().parent / "stand_ins" / "sd-webui-controlnet"

RECORDER = '''
from modules import processing, scripts, shared

SEEN = []


class Recorder(scripts.Script):
    def title(self):
        return "Recorder"

    def show(self, is_img2img):
        return scripts.AlwaysVisible

    def process(self, p, *args):
        SEEN.append({"p": id(p), "prompts": list(p.all_prompts),
                     "mask": p.image_mask is not None, "fill": p.inpainting_fill,
                     "size": p.init_images[0].size, "n_init": len(p.init_images)})

    def before_process_batch(self, p, *args, **kwargs):
        if "nested" in p.all_prompts[0]:
            p2 = processing.StableDiffusionProcessingImg2Img(
                init_images=[p.init_images[0]], width=p.width // 2, height=p.height // 2,
                prompt="inner", seed=1, do_not_save_samples=True, do_not_save_grid=True)
            processing.process_images(p2)
'''


def _seen(runner) -> list[dict]:
    script = runner.script("Recorder")
    return type(script).process.__globals__["SEEN"]


def _solid(colour, size=(64, 64)) -> Image.Image:
    return Image.new("RGB", size, tuple(colour))


def _generate(webui, image, **kwargs):  # noqa: F811
    kwargs.setdefault("width", image.width)
    kwargs.setdefault("height", image.height)
    return webui.run_img2img(image, **kwargs)


def test_token_merging_is_applied_and_a_nested_job_resets_it(webui, tmp_path):  # noqa: F811
    runner = webui.load_extension(write_extension(tmp_path, "recorder", RECORDER))
    webui.shared.opts.token_merging_ratio_img2img = 0.5

    _generate(webui, _solid((10, 20, 30)), prompt="plain")
    (plain,) = webui.process_images_log
    assert plain["batches"][0]["token_merging_ratio"] == 0.5
    assert webui.shared.sd_model.applied_token_merged_ratio == 0  # reset in the finally

    webui.processing.reset_process_images_log()
    images, *_ = _generate(webui, _solid((10, 20, 30)), prompt="nested")
    outer, inner = webui.process_images_log
    assert inner["nested"] and inner["batches"][0]["token_merging_ratio"] == 0.5
    # the nested job's finally turned token merging off for the rest of the outer job
    assert outer["batches"][0]["token_merging_ratio"] == 0
    assert "Token merging ratio: 0.5" in images[0].info["parameters"]  # what it claims
    assert _seen(runner)


def test_comments_are_stripped_after_the_extensions_process(webui, tmp_path):  # noqa: F811
    runner = webui.load_extension(write_extension(tmp_path, "recorder", RECORDER))
    _generate(webui, _solid((10, 20, 30)), prompt="a cat # a comment\n# a line\nsmiling")
    assert _seen(runner)[0]["prompts"] == ["a cat # a comment\n# a line\nsmiling"]
    (job,) = webui.process_images_log
    assert job["batches"][0]["prompts"] == ["a cat \nsmiling"]
    assert [s.title() for s in runner.alwayson_scripts][-3:] == ["Comments", "Sampler", "Seed"]


def test_batch_tab_hands_one_p_to_every_image(webui, tmp_path):  # noqa: F811
    runner = webui.load_extension(write_extension(tmp_path, "recorder", RECORDER))
    folder, out, masks = tmp_path / "in", tmp_path / "out", tmp_path / "masks"
    for folder_ in (folder, out, masks):
        folder_.mkdir()
    for i, colour in enumerate(((200, 0, 0), (0, 200, 0), (0, 0, 200))):
        _solid(colour).save(folder / f"render{i + 1}.png")
    (folder / "notes.txt").write_text("not an image")

    images, *_ = webui.run_img2img(None, batch_input_dir=str(folder), batch_output_dir=str(out),
                                   width=64, height=64, batch_size=2, prompt="p")
    seen = _seen(runner)
    assert len(seen) == 3 and len({entry["p"] for entry in seen}) == 1  # ONE p, reused
    assert [entry["n_init"] for entry in seen] == [2, 2, 2]  # [image] * batch_size
    assert not any(entry["mask"] for entry in seen)
    written = sorted(f.name for f in out.iterdir())
    assert [sum(f"render{i}-" in name for name in written) for i in (1, 2, 3)] == [2, 2, 2]
    assert len(images) == 3 * 3  # per image: a grid of 2, then the 2 images

    # an inpaint batch: the mask folder's file of the same name becomes p.image_mask; an
    # image without one is skipped (a folder of ONE mask would serve every image)
    for name in ("render2.png", "render3.png"):
        Image.new("L", (64, 64), 255).save(masks / name)
    _seen(runner).clear()
    webui.run_img2img(None, batch_input_dir=str(folder), batch_mask_dir=str(masks), width=64,
                      height=64, prompt="p")
    assert [entry["mask"] for entry in _seen(runner)] == [True, True]


def test_loopback_hands_the_same_p_to_every_loop(webui, tmp_path):  # noqa: F811
    runner = webui.load_extension(write_extension(tmp_path, "recorder", RECORDER))
    args = webui.ui_args(selected="Loopback", overrides={"Loopback": [3, 0.5, "Linear", "None"]})
    images, *_ = _generate(webui, _solid((10, 20, 30)), prompt="loop", inpainting_fill=0,
                           denoising_strength=0.3, script_args=args)
    seen = _seen(runner)
    assert len(seen) == 3 and len({entry["p"] for entry in seen}) == 1
    assert [entry["fill"] for entry in seen] == [0, 1, 1]  # "original" after the first loop
    log = webui.process_images_log
    assert [job["seeds"][0] for job in log] == [log[0]["seeds"][0] + i for i in range(3)]
    assert [job["denoising_strength"] for job in log] == [0.3, 0.4, 0.5]
    assert len(images) == 4  # a grid of the three loops, then the loops


def test_sd_upscale_runs_each_batch_of_tiles_through_the_same_p(webui, tmp_path):  # noqa: F811
    runner = webui.load_extension(write_extension(tmp_path, "recorder", RECORDER))
    args = webui.ui_args(selected="SD upscale",
                         overrides={"SD upscale": {1: 16, 2: "Lanczos", 3: 2.0}})
    images, *_ = _generate(webui, _solid((90, 90, 90), (48, 48)), width=64, height=64,
                           batch_size=2, script_args=args)
    seen = _seen(runner)
    # 96x96 in 64-px tiles overlapping by 16: 2 x 2 tiles, in 2 batches of 2
    assert len(seen) == 2 and len({entry["p"] for entry in seen}) == 1
    assert [entry["size"] for entry in seen] == [(64, 64)] * 2
    assert images[0].size == (96, 96)


def test_controlnet_stand_in_hooks_the_unet_for_its_job(webui, tmp_path):  # noqa: F811
    webui.install_extension(CONTROLNET, name="sd-webui-controlnet")
    runner = webui.load_extension(write_extension(tmp_path, "recorder", RECORDER))
    module = type(runner.script("ControlNet")).process.__globals__
    unit = module["ControlNetUnit"](enabled=True, module="canny", weight=1.0)
    args = webui.ui_args(overrides={"ControlNet": [unit]})
    init = _solid((200, 100, 0))
    images, *_ = _generate(webui, init, prompt="cn", denoising_strength=1.0, script_args=args)

    seed = webui.process_images_log[0]["seeds"][0]
    painted = np.array(webui.processing.expected_colour(seed, "cn"), dtype=float)
    pulled = np.floor(painted * 0.5 + np.array([200, 100, 0]) * 0.5 + 0.5)
    assert tuple(np.asarray(images[0])[5, 5]) == tuple(int(v) for v in pulled)
    assert len(images) == 2  # the result, then its detected map
    unet = webui.shared.sd_model.model.diffusion_model
    assert not hasattr(unet, "_original_forward")  # the hook is undone in postprocess
    assert runner.script("ControlNet").latest_network is None

    # A nested job run while the outer job's hook is on fails like the real one.
    webui.processing.reset_process_images_log()
    _generate(webui, init, prompt="nested", width=64, height=48, script_args=args)
    assert any("must match the size of tensor b" in str(report)
               for report in webui.reports), webui.reports


def test_controlnet_stand_in_warns_about_a_seed_that_is_no_number(webui, caplog):  # noqa: F811
    webui.install_extension(CONTROLNET, name="sd-webui-controlnet")
    runner = webui.load_extension(CONTROLNET, name="sd-webui-controlnet")
    module = type(runner.script("ControlNet")).process.__globals__
    p = webui.processing.StableDiffusionProcessingImg2Img(
        init_images=[_solid((1, 2, 3))], width=64, height=64, prompt=["a", "b"],
        seed=[5, 9], batch_size=2, do_not_save_samples=True, do_not_save_grid=True)
    p.all_seeds = [5, 9]
    assert module["set_numpy_seed"](p) is None
    assert "Failed to use consistent random seed" in caplog.text
