"""FacePop's settings as X/Y/Z plot axes, in the WebUI double with its built-in X/Y/Z plot
(tests/webui_double/scripts/xyz_grid.py): registration, per-cell values, validation,
infotext, and nothing leaking between cells or into later jobs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lib_facepop.settings import FacePopSettings
from lib_facepop.xyz_axes import AXES
from tests.webui_double_fixtures import FLAVOURS

WEBUI_FLAVOURS = FLAVOURS  # the host-behaviour tests run in both flavours of the double

ROOT = Path(__file__).resolve().parents[1]
XYZ = "X/Y/Z plot"
# Panel values: FacePop on, small faces, separate face processing OFF, a face prompt typed.
PANEL = {"enabled": True, "face_width": 256, "face_height": 256, "mask_source": "ellipse",
         "face_prompt": "typed in the panel"}


def _facepop_labels(xyz) -> list[str]:
    return [axis.label for axis in xyz.current_axis_options
            if axis.label.startswith("[FacePop] ")]


def _xyz_args(xyz, axes: dict[str, tuple[str, str]], **flags) -> dict[int, object]:
    labels = [axis.label for axis in xyz.current_axis_options]
    values: list[object] = []
    for name in ("x", "y", "z"):
        label, text = axes.get(name, ("Nothing", ""))
        values += [labels.index(label), text, []]
    rest = {"draw_legend": True, "include_lone_images": True, "include_sub_grids": False,
            "no_fixed_seeds": False, "vary_seeds_x": False, "vary_seeds_y": False,
            "vary_seeds_z": False, "margin_size": 0, "csv_mode": False, **flags}
    return dict(enumerate(values + list(rest.values())))


def _grid(webui, runner, image, axes, *, panel=PANEL, steps=20, **kwargs):
    xyz = runner.script(XYZ)
    args = webui.ui_args(runner, selected=XYZ, overrides={
        "FacePop": FacePopSettings(**panel).to_positional(), XYZ: _xyz_args(xyz, axes),
        "Sampler": {0: steps}})
    kwargs.setdefault("prompt", "photo")
    return webui.run_img2img(image, script_args=args, width=image.width,
                             height=image.height, **kwargs)


def _face_passes(webui) -> list[dict]:
    return [entry for entry in webui.process_images_log if entry["nested"]]


def _facepop_params(webui, infotext: str) -> dict[str, str]:
    params = webui.infotext_utils.parse_generation_parameters(infotext)
    return {key: value for key, value in params.items() if key.startswith("FacePop ")}


def test_a_grid_over_face_denoising_and_padding_gives_each_cell_its_values(
        webui, astronaut) -> None:
    runner = webui.load_extension(ROOT)
    image = Image.fromarray(astronaut)
    # 0.4 and 35 are the defaults: a cell with them must not inherit another cell's values.
    images, info, *_ = _grid(webui, runner, image, {
        "x": ("[FacePop] Face denoising strength", "0.3, 0.4"),
        "y": ("[FacePop] Padding %", "20, 35")}, denoising_strength=0.0, cfg_scale=5.0)

    cells = [(0.3, 20.0), (0.4, 20.0), (0.3, 35.0), (0.4, 35.0)]  # X inner, Y outer
    passes = _face_passes(webui)
    assert len(passes) == 4 and len(webui.process_images_log) == 8
    # Separate face processing is off in the panel: the axis turns it on for its cells,
    # and what the axis doesn't set stays the main job's (not the panel's face values).
    assert [entry["denoising_strength"] for entry in passes] == [d for d, _ in cells]
    assert all(entry["cfg_scale"] == 5.0 and entry["prompts"] == ["photo"] for entry in passes)

    infotexts = json.loads(info)["infotexts"]
    assert len(images) == len(infotexts) == 1 + 4
    for (denoising, padding), image_out, infotext in zip(cells, images[1:], infotexts[1:],
                                                         strict=True):
        assert image_out.info["parameters"] == infotext
        recorded = _facepop_params(webui, infotext)
        assert recorded.get("FacePop face denoising strength") == (
            None if denoising == 0.4 else str(denoising))
        assert recorded.get("FacePop padding") == (None if padding == 35.0 else str(padding))
        assert recorded["FacePop separate face processing"] == "True"

    # The padding acted: the main pass (denoising 0) changes nothing, so exactly the
    # pasted faces differ from the photo, over a larger area with more padding.
    changed = [int(np.any(np.asarray(out.convert("RGB")) != astronaut, axis=2).sum())
               for out in images[1:]]
    assert changed[2] > changed[0] > 0 and changed[3] > changed[1] > 0

    # Nothing survives into a later job: the panel's own values again.
    webui.processing.reset_process_images_log()
    args = webui.ui_args(runner, overrides={"FacePop": FacePopSettings(**PANEL).to_positional()})
    (plain, *_), *_ = webui.run_img2img(image, script_args=args, prompt="photo",
                                        width=512, height=512, denoising_strength=0.7)
    (face_pass,) = _face_passes(webui)
    assert face_pass["denoising_strength"] == 0.7 and face_pass["prompts"] == ["photo"]
    recorded = _facepop_params(webui, plain.info["parameters"])
    assert "FacePop padding" not in recorded
    assert "FacePop separate face processing" not in recorded


def test_face_steps_axis_acts_with_separate_processing_off_and_keeps_the_rest_inherited(
        webui, astronaut) -> None:
    runner = webui.load_extension(ROOT)
    _grid(webui, runner, Image.fromarray(astronaut),
          {"x": ("[FacePop] Face steps", "3-5 [2]")}, steps=9, cfg_scale=4.5,
          denoising_strength=0.6)
    passes = _face_passes(webui)
    assert [(e["steps"], e["cfg_scale"], e["denoising_strength"], e["prompts"])
            for e in passes] == [(3, 4.5, 0.6, ["photo"]), (5, 4.5, 0.6, ["photo"])]
    assert [e["steps"] for e in webui.process_images_log if not e["nested"]] == [9, 9]


def test_enable_axis_compares_with_and_without_facepop(webui, astronaut) -> None:
    runner = webui.load_extension(ROOT)
    xyz_args = {"x": ("[FacePop] Enable FacePop", "")}
    xyz = runner.script(XYZ)
    args = webui.ui_args(runner, selected=XYZ, overrides={
        "FacePop": FacePopSettings(**dict(PANEL, enabled=False)).to_positional(),
        XYZ: {**_xyz_args(xyz, xyz_args), 2: ["False", "True"]}})
    webui.run_img2img(Image.fromarray(astronaut), script_args=args, prompt="photo",
                      width=512, height=512)
    assert [entry["nested"] for entry in webui.process_images_log] == [False, False, True]


@pytest.mark.parametrize(("label", "text", "message"), [
    ("[FacePop] Face denoising strength", "0.3, 1.5",
     "[FacePop] Face denoising strength: face_denoising_strength: 1.5 is above the maximum 1"),
    ("[FacePop] Face steps", "20, 2x",
     "[FacePop] Face steps: &#x27;2x&#x27; is not a whole number or a range"),
    ("[FacePop] Face size (width and height)", "512, 4096",
     "face_width: 4096 is above the maximum 2048"),
    ("[FacePop] Padding %", "20-40 (+10), -5", "padding: -5.0 is below the minimum 0"),
])
def test_a_bad_value_fails_the_grid_before_any_cell_naming_the_setting(
        webui, astronaut, label, text, message) -> None:
    runner = webui.load_extension(ROOT)
    *_, error = _grid(webui, runner, Image.fromarray(astronaut), {"x": (label, text)})
    assert "class='error'" in error and message in error
    assert webui.process_images_log == []


def test_axes_are_registered_once_before_the_ui_and_again_after_a_reload(webui) -> None:
    webui.install_extension(ROOT)
    _, runner = webui.start()  # loads the scripts, runs on_before_ui, makes the UI
    labels = _facepop_labels(runner.script(XYZ))
    assert labels[:6] == ["[FacePop] Enable FacePop", "[FacePop] Face denoising strength",
                          "[FacePop] Face steps", "[FacePop] Face CFG scale",
                          "[FacePop] Face prompt", "[FacePop] Padding %"]
    assert "[FacePop] Mask feather %" in labels and "[FacePop] Face mask" in labels
    assert "[FacePop] Face size (width and height)" in labels
    assert len(labels) == len(set(labels))
    webui.script_callbacks.before_ui_callback()  # again: nothing twice
    assert _facepop_labels(webui.create_ui().script(XYZ)) == labels
    txt2img = webui.scripts.scripts_txt2img.script(XYZ)
    assert _facepop_labels(txt2img) == labels  # FacePop works in both tabs
    restore_and_eyes = ["[FacePop] Face restoration", "[FacePop] CodeFormer fidelity",
                        "[FacePop] Restoration visibility", "[FacePop] Upscaler for small faces",
                        "[FacePop] Enhancement filter", "[FacePop] Colour match",
                        "[FacePop] Eyes pass", "[FacePop] Keep original eyes",
                        "[FacePop] Eyes denoising strength"]
    assert labels[-len(restore_and_eyes):] == restore_and_eyes
    by_label = {axis.label: axis for axis in runner.script(XYZ).current_axis_options}
    # values to choose from: the host's upscalers (read when asked), the restorers
    assert by_label["[FacePop] Upscaler for small faces"].choices() == [
        "Lanczos", "None", "Nearest", "R-ESRGAN 4x+"]
    assert by_label["[FacePop] Face restoration"].choices() == ["none", "codeformer", "gfpgan"]
    # "Reload UI": the scripts (the X/Y/Z plot's module too) load again.
    _, runner = webui.start()
    assert _facepop_labels(runner.script(XYZ)) == labels


def test_axes_work_from_the_api_of_a_nowebui_host(webui, astronaut) -> None:
    import base64
    import io

    webui.install_extension(ROOT)
    webui.start(nowebui=True)  # the UI is made before on_before_ui here
    xyz = webui.scripts.scripts_img2img.script(XYZ)
    labels = [axis.label for axis in xyz.current_axis_options]
    buffer = io.BytesIO()
    Image.fromarray(astronaut).save(buffer, format="PNG")
    webui.api_img2img({
        "init_images": [base64.b64encode(buffer.getvalue()).decode()], "prompt": "photo",
        "width": 512, "height": 512, "script_name": "x/y/z plot",
        "script_args": [labels.index("[FacePop] Face CFG scale"), "3, 11", [], 0, "", [], 0,
                        "", [], True, False, False, False, False, False, False, 0, False],
        "alwayson_scripts": {"FacePop": {"args": [PANEL]}}})
    assert [entry["cfg_scale"] for entry in _face_passes(webui)] == [3.0, 11.0]


def test_the_axes_registered_are_the_axes_the_settings_reference_names(webui) -> None:
    webui.load_extension(ROOT)
    xyz = webui.scripts.scripts_img2img.script(XYZ)
    registered = _facepop_labels(xyz)
    page = (ROOT / "docs" / "settings.md").read_text()
    assert registered == [axis.label for axis in AXES]
    assert [label for label in registered if f"`{label}`" not in page] == []


def test_a_txt2img_grid_over_restoration_and_the_eyes_pass(webui, astronaut) -> None:
    webui.load_extension(ROOT)
    webui.processing.set_txt2img_picture(Image.fromarray(astronaut), strength=0.25)
    runner = webui.scripts.scripts_txt2img
    xyz = runner.script(XYZ)
    axes = {"x": ("[FacePop] Face restoration", ""), "y": ("[FacePop] Eyes pass", "")}
    labels = [axis.label for axis in xyz.current_axis_options]
    args = webui.ui_args(runner, selected=XYZ, overrides={
        "FacePop": FacePopSettings(**PANEL).to_positional(),
        XYZ: {**_xyz_args(xyz, axes), 0: labels.index(axes["x"][0]), 2: ["none", "gfpgan"],
              3: labels.index(axes["y"][0]), 5: ["False", "True"]}})
    _, info, *_ = webui.run_txt2img(prompt="photo", denoising_strength=0.7,
                                    script_args=args)
    passes = _face_passes(webui)
    # cells: (none, no eyes), (gfpgan, no eyes), (none, eyes), (gfpgan, eyes)
    assert [entry["width"] for entry in passes] == [256, 256, 256, 512, 256, 512]
    assert len(webui.gfpgan_model.restore_calls) == 2
    # the face pass keeps FacePop's own face denoising strength (0.4), not the hires fix's
    assert {entry["denoising_strength"] for entry in passes if entry["width"] == 256} == {0.4}
    infotexts = json.loads(info)["infotexts"][1:]
    recorded = [_facepop_params(webui, text) for text in infotexts]
    assert [r.get("FacePop face restoration") for r in recorded] == [None, "gfpgan"] * 2
    assert [r.get("FacePop eyes pass") for r in recorded] == [None, None, "True", "True"]
