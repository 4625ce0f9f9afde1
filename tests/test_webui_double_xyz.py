"""Self-tests of the test double's X/Y/Z plot (tests/webui_double/scripts/xyz_grid.py): the
host's mechanics that an extension adding axes relies on."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from tests.helpers import write_extension

XYZ = "X/Y/Z plot"

# An extension with a "probe" axis whose apply writes into the cell's p, registered when
# its script file is imported (as some extensions do), and an always-on script that records
# what each job's p holds when its process hook runs.
PROBE = """
from modules import scripts

SEEN = []
CONFIRMED = []


def xyz_module():
    for data in scripts.scripts_data:
        if data.script_class.__module__ == "xyz_grid.py":
            return data.module
    return None


def apply_probe(p, x, xs):
    p.probe = x
    p.extra_generation_params["Probe " + str(x)] = x  # into the dict the cell shares with p


xyz = xyz_module()
xyz.axis_options.append(xyz.AxisOptionImg2Img(
    "Probe", int, apply_probe, confirm=lambda p, xs: CONFIRMED.append(list(xs))))


class Recorder(scripts.Script):
    def title(self):
        return "Recorder"

    def show(self, is_img2img):
        return scripts.AlwaysVisible

    def process(self, p, *args):
        SEEN.append({"probe": getattr(p, "probe", None), "steps": p.steps,
                     "denoising_strength": p.denoising_strength,
                     "params": dict(p.extra_generation_params),
                     "params_object": p.extra_generation_params, "p": p})
"""


def _setup(double, tmp_path):
    double.install_extension(write_extension(tmp_path, "probe", PROBE))
    double.load_scripts()
    runner = double.create_ui()
    probe = next(s for s in runner.alwayson_scripts if s.title() == "Recorder")
    return runner, runner.script(XYZ), type(probe).process.__globals__


def _xyz_args(xyz, x=("Nothing", ""), y=("Nothing", ""), z=("Nothing", ""), **flags) -> dict:
    labels = [axis.label for axis in xyz.current_axis_options]
    values = []
    for label, text in (x, y, z):
        values += [labels.index(label), text, []]
    defaults = {"draw_legend": True, "include_lone_images": False, "include_sub_grids": False,
                "no_fixed_seeds": False, "vary_seeds_x": False, "vary_seeds_y": False,
                "vary_seeds_z": False, "margin_size": 0, "csv_mode": False}
    defaults.update(flags)
    return dict(enumerate(values + list(defaults.values())))


def _grid(double, runner, xyz, image, **kwargs):
    args = double.ui_args(runner, overrides={XYZ: _xyz_args(xyz, **kwargs.pop("axes"))},
                         selected=XYZ)
    return double.run_img2img(image, script_args=args, width=64, height=64, prompt="photo",
                             **kwargs)


def _image() -> Image.Image:
    return Image.fromarray(np.full((64, 64, 3), 90, np.uint8))


def test_xyz_is_a_builtin_script_and_offers_the_axes_present_when_its_ui_is_made(
        webui, tmp_path):
    runner, xyz, _ = _setup(webui, tmp_path)
    (data,) = [d for d in webui.scripts.scripts_data if d.script_class.__module__ == "xyz_grid.py"]
    assert xyz in runner.selectable_scripts and isinstance(xyz, data.script_class)
    labels = [axis.label for axis in xyz.current_axis_options]
    assert labels[:2] == ["Nothing", "Seed"] and "Probe" in labels and "Hires steps" not in labels
    txt2img = webui.scripts.scripts_txt2img.script(XYZ)
    assert "Probe" not in [a.label for a in txt2img.current_axis_options]  # img2img only
    # An axis added after the UI is made is not offered until the UI is made again.
    data.module.axis_options.append(data.module.AxisOption("Late", int, lambda p, x, xs: None))
    assert "Late" not in [axis.label for axis in xyz.current_axis_options]
    assert "Late" in [axis.label for axis in webui.create_ui().script(XYZ).current_axis_options]


def test_each_cell_is_a_shallow_copy_of_p_in_the_hosts_order(webui, tmp_path):
    runner, xyz, probe = _setup(webui, tmp_path)
    images, info, *_ = _grid(webui, runner, xyz, _image(),
                             axes={"x": ("Probe", "1, 2"), "y": ("Steps", "3-4"),
                                   "include_lone_images": True})
    seen = probe["SEEN"]
    assert [(s["probe"], s["steps"]) for s in seen] == [(1, 3), (2, 3), (1, 4), (2, 4)]
    assert len({id(s["p"]) for s in seen}) == 4  # a new p per cell ...
    assert all(s["params_object"] is seen[0]["params_object"] for s in seen)  # ... sharing
    # p's extra_generation_params,
    assert "Probe 1" in seen[1]["params"]  # so what one cell writes there, the next one sees
    assert probe["CONFIRMED"] == [[1, 2]]
    assert len(images) == 1 + 4  # the grid, then each cell's image
    infotexts = json.loads(info)["infotexts"]
    assert "Script: X/Y/Z plot" in infotexts[0] and "X Type: Probe" in infotexts[0]
    assert "Y Values: 3-4" in infotexts[0]
    assert "Steps: 4" in infotexts[4] and infotexts[4] == images[4].info["parameters"]


@pytest.mark.parametrize(("label", "text", "expected"), [
    ("Steps", "1-3, 7", [1, 2, 3, 7]),
    ("Steps", "1-9 (+4)", [1, 5, 9]),
    ("Steps", "10-20 [3]", [10, 15, 20]),
    ("Denoising", "0.2-0.6 [3]", [0.2, 0.4, 0.6]),
    ("Denoising", "0.25, , 1", [0.25, 1.0]),
    ("Prompt S/R", 'photo, "a, b"', ["photo", "a, b"]),
])
def test_values_are_parsed_by_the_axis_type(webui, tmp_path, label, text, expected):
    runner, xyz, _ = _setup(webui, tmp_path)
    _grid(webui, runner, xyz, _image(), axes={"x": (label, text)})
    field = {"Steps": "steps", "Denoising": "denoising_strength", "Prompt S/R": "prompts"}[label]
    got = [entry[field] for entry in webui.process_images_log]
    if field == "prompts":
        got = [prompts[0] for prompts in got]
    assert got == pytest.approx(expected)


def test_a_bad_value_stops_the_grid_before_any_cell(webui, tmp_path):
    runner, xyz, probe = _setup(webui, tmp_path)
    *_, html = _grid(webui, runner, xyz, _image(), axes={"x": ("Probe", "5, five")})
    assert webui.process_images_log == [] and probe["CONFIRMED"] == []
    assert "ValueError: invalid literal for int() with base 10: &#x27;five&#x27;" in html


def test_batch_count_runs_in_every_cell_and_batch_size_is_one_without_return_grid(
        webui, tmp_path):
    runner, xyz, _ = _setup(webui, tmp_path)
    _grid(webui, runner, xyz, _image(), n_iter=2, batch_size=2,
          axes={"x": ("Steps", "3, 4")})
    assert [(e["n_iter"], e["batch_size"]) for e in webui.process_images_log] == [(2, 2)] * 2
    webui.processing.reset_process_images_log()
    webui.shared.opts.return_grid = False
    _grid(webui, runner, xyz, _image(), n_iter=2, batch_size=2,
          axes={"x": ("Steps", "3, 4")})
    assert [(e["n_iter"], e["batch_size"]) for e in webui.process_images_log] == [(2, 1)] * 2
