"""Self-tests of the test double's txt2img (modules/txt2img.py, StableDiffusionProcessingTxt2Img,
/sdapi/v1/txt2img), each against the A1111 v1.10.1 behaviour it imitates."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from tests.helpers import write_extension
from tests.webui_double_fixtures import webui  # noqa: F401 (the fixture)

# Replaces every image in postprocess_image by a flat picture of its own, and adds an
# infotext entry whose value is read when the host makes the image's infotext.
PAINTER = '''
from PIL import Image

from modules import scripts, shared

SEEN = []


class Painter(scripts.Script):
    def title(self):
        return "Painter"

    def show(self, is_img2img):
        return scripts.AlwaysVisible

    def process(self, p, *args):
        self.replaced = {}
        p.extra_generation_params["Painted"] = lambda p, index, **kwargs: self.replaced.get(
            (p.iteration, index), "no")

    def postprocess_image(self, p, pp, *args):
        SEEN.append({"size": pp.image.size, "pixel": pp.image.getpixel((0, 0)),
                     "batch_index": p.batch_index, "iteration": p.iteration,
                     "prompt": p.prompts[p.batch_index], "seed": p.seeds[p.batch_index],
                     "job_no": shared.state.job_no, "job_count": shared.state.job_count})
        pp.image = Image.new("RGB", pp.image.size, (1, 2, 3))
        self.replaced[(p.iteration, p.batch_index)] = "yes"
'''


def _seen(webui) -> list[dict]:  # noqa: F811
    script = webui.scripts.scripts_txt2img.script("Painter")
    return type(script).process.__globals__["SEEN"]


def test_txt2img_paints_each_item_and_postprocess_image_comes_before_its_infotext(
        webui, tmp_path):  # noqa: F811
    webui.load_extension(write_extension(tmp_path, "painter", PAINTER))
    images, info_js, *_ = webui.run_txt2img(
        prompt="a cat", batch_size=2, n_iter=2, width=64, height=48,
        script_args=webui.txt2img_ui_args(overrides={"Seed": [11]}))
    info = json.loads(info_js)
    assert info["all_seeds"] == [11, 12, 13, 14]
    (entry,) = webui.process_images_log
    assert entry["mode"] == "txt2img" and entry["hires_size"] is None
    seen = _seen(webui)
    assert [(s["iteration"], s["batch_index"], s["seed"]) for s in seen] == [
        (0, 0, 11), (0, 1, 12), (1, 0, 13), (1, 1, 14)]
    for s in seen:  # the painter's flat colour of the item's seed and prompt
        assert s["size"] == (64, 48)
        assert s["pixel"] == webui.processing.expected_colour(s["seed"], "a cat")
    assert [s["job_no"] for s in seen] == [1, 1, 2, 2] and seen[0]["job_count"] == 2
    _grid, *outputs = images
    assert len(outputs) == 4 and all(o.getpixel((0, 0)) == (1, 2, 3) for o in outputs)
    # each image's infotext is made after its postprocess_image, within its batch
    assert all("Painted: yes" in o.info["parameters"] for o in outputs)
    assert "Painted: yes" in info["infotexts"][1] and "Seed: 14" in info["infotexts"][4]


def test_hires_fix_enlarges_through_the_upscaler_as_a_job_of_its_own(
        webui, tmp_path):  # noqa: F811
    webui.load_extension(write_extension(tmp_path, "painter", PAINTER))
    picture = Image.new("RGB", (8, 8), (200, 100, 50))
    webui.processing.set_txt2img_picture(picture, strength=0.5)
    _, info_js, *_ = webui.run_txt2img(
        prompt="dog", width=64, height=48, enable_hr=True, hr_scale=1.5,
        hr_upscaler="R-ESRGAN 4x+", denoising_strength=0.0,
        script_args=webui.txt2img_ui_args(overrides={"Seed": [3]}))
    (seen,) = _seen(webui)
    assert seen["size"] == (96, 72)  # postprocess_image gets the hires image
    assert (seen["job_no"], seen["job_count"]) == (2, 2)  # first pass + hires pass
    assert [c["size"] for c in webui.realesrgan_model.upscale_calls] == [(64, 48)]
    first = np.floor(np.array([200, 100, 50]) * 0.5
                     + np.array(webui.processing.expected_colour(3, "dog")) * 0.5 + 0.5)
    assert seen["pixel"] == tuple(int(v) for v in 255 - first)  # the stand-in inverts
    (entry,) = webui.process_images_log
    assert entry["hires_size"] == (96, 72)
    info = json.loads(info_js)
    for key in ("Denoising strength: 0.0", "Hires upscale: 1.5", "Hires upscaler: R-ESRGAN 4x+"):
        assert key in info["infotexts"][0]


def test_an_unknown_hires_upscaler_stops_the_job(webui):  # noqa: F811
    webui.load_scripts()
    webui.create_ui()
    images, _, _, error = webui.run_txt2img(prompt="x", enable_hr=True, hr_upscaler="nobody")
    assert images is None and "could not find upscaler named nobody" in error


def test_txt2img_api_runs_the_always_on_scripts_with_their_args(webui, tmp_path):  # noqa: F811
    webui.install_extension(write_extension(tmp_path, "painter", PAINTER))
    webui.start()
    response = webui.api_txt2img({"prompt": "x", "seed": 5, "width": 32, "height": 32,
                                  "batch_size": 2, "alwayson_scripts": {"Painter": {"args": []}}})
    assert len(response["images"]) == 2  # no grid: the API doesn't save it
    assert [s["seed"] for s in _seen(webui)] == [5, 6]
    info = json.loads(response["info"])
    assert info["infotexts"][1].startswith("x\nSteps: 50")  # the API's default steps
    assert "Painted: yes" in info["infotexts"][1]
    assert webui.process_images_log[0]["is_api"] and webui.process_images_log[0]["mode"] == (
        "txt2img")
