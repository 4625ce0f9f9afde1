"""The panel builds under A1111's gradio (3.41.2) and Forge's (gradio 4), and its
components match the positional API args one to one."""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import gradio as gr
import pytest

from lib_facepop.settings import SEPARATE_PROCESSING_SETTINGS, FacePopSettings, option_specs
from lib_facepop.webui.mask_note import mask_source_note
from lib_facepop.webui.panel import (
    HELP_ELEM_ID,
    LAYOUT,
    MASK_NOTE_ELEM_ID,
    TAB_IMG2IMG,
    TAB_TXT2IMG,
    build_panel,
    elem_id_for,
    following_separate,
    help_elem_id,
    help_targets,
    layout_names,
    mask_note_elem_id,
    section_elem_id,
)
from tests.webui_double_fixtures import FLAVOURS

WEBUI_FLAVOURS = FLAVOURS  # the host-behaviour tests run in both flavours of the double
ROOT = Path(__file__).resolve().parents[1]

# Describes each control, the panel's events and its HTML elements the same way under any
# gradio, for comparison across versions.
DESCRIBE = """
import html, json, re, sys
import gradio as gr
from lib_facepop.webui.panel import build_panel

def describe(control):
    return {"type": type(control).__name__, "label": control.label,
            "value": control.value, "elem_id": control.elem_id,
            "interactive": control.interactive,
            "minimum": getattr(control, "minimum", None),
            "maximum": getattr(control, "maximum", None),
            "allow_custom_value": getattr(control, "allow_custom_value", None),
            "choices": [list(c) if isinstance(c, (list, tuple)) else [c, c]
                        for c in (getattr(control, "choices", None) or [])] or None}

UPSCALERS = json.loads(sys.argv[2])
with gr.Blocks() as demo:
    panels = {tab: build_panel(gr, mask_note=sys.argv[1], tab=tab, upscalers=UPSCALERS)
              for tab in ("txt2img", "img2img")}
elem_ids = {block._id: getattr(block, "elem_id", None) for block in demo.blocks.values()}
fns = list(demo.fns.values()) if isinstance(demo.fns, dict) else list(demo.fns)
events = []
for dependency, fn in zip(demo.get_config_file()["dependencies"], fns):
    targets = [tuple(t) if isinstance(t, (list, tuple)) else (t, dependency["trigger"])
               for t in dependency["targets"]]
    events.append({
        "on": [[elem_ids[t], trigger] for t, trigger in targets],
        "outputs": [elem_ids[o] for o in dependency["outputs"]],
        "interactive": {str(v): [u["interactive"] for u in fn.fn(v)] for v in (True, False)}})
htmls = {b.elem_id: b.value for b in demo.blocks.values() if type(b).__name__ == "HTML"}
print(json.dumps({"gradio": gr.__version__,
                  "controls": {tab: [describe(c) for c in panel.controls]
                               for tab, panel in panels.items()},
                  "events": events, "html": htmls,
                  "elem_ids": [i for i in elem_ids.values() if i]}))
"""
NOTE = "No MODNet model in /x: Auto uses selfie segmentation"
UPSCALERS = ["Lanczos", "None", "Nearest", "R-ESRGAN 4x+"]
TABS = (TAB_TXT2IMG, TAB_IMG2IMG)


def _describe_in(python: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([python, "-c", DESCRIBE, NOTE, json.dumps(UPSCALERS)],
                          capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _check_against_settings(controls: list[dict], tab: str) -> None:
    specs = option_specs()
    assert len(controls) == len(specs)
    for control, spec in zip(controls, specs, strict=True):
        assert control["label"] == spec.label
        assert control["value"] == spec.default, spec.name
        assert control["elem_id"] == elem_id_for(spec.name, tab)
        if spec.kind is bool:
            assert control["type"] == "Checkbox"
        elif spec.choices is not None:
            # Readable labels in the panel, the settings' own values behind them.
            assert control["type"] == "Radio"
            assert [value for _, value in control["choices"]] == list(spec.choices)
            assert [label for label, _ in control["choices"]] == list(spec.choice_labels)
            assert all(label != value for label, value in control["choices"])
        elif spec.kind in (int, float):
            assert control["type"] == "Slider"
            assert (control["minimum"], control["maximum"]) == (spec.minimum, spec.maximum)
        elif spec.name == "upscaler":  # the host's upscalers, by name
            assert control["type"] == "Dropdown"
            assert control["choices"] == [[name, name] for name in UPSCALERS]
            # and a name typed in that it does not offer (e.g. pasted from another WebUI)
            assert control["allow_custom_value"] is True
        else:
            assert control["type"] == "Textbox"
    values = [control["value"] for control in controls]
    assert FacePopSettings.from_positional(values) == FacePopSettings()
    # Separate face processing is off by default: the values it governs start inactive
    # (in txt2img the face denoising strength is always used: no job's value to take).
    for control, spec in zip(controls, specs, strict=True):
        assert (control["interactive"] is False) == (spec.name in following_separate(tab))
    assert following_separate(TAB_TXT2IMG) == tuple(
        name for name in SEPARATE_PROCESSING_SETTINGS if name != "face_denoising_strength")
    assert following_separate(TAB_IMG2IMG) == SEPARATE_PROCESSING_SETTINGS


def _check_events_and_html(described: dict) -> None:
    events = described["events"]
    assert len(events) == len(TABS)
    html_values = described["html"]
    for tab, event in zip(TABS, events, strict=True):
        assert event["on"] == [[elem_id_for("separate_face_processing", tab), "change"]]
        assert event["outputs"] == [elem_id_for(name, tab) for name in following_separate(tab)]
        count = len(following_separate(tab))
        assert event["interactive"] == {"True": [True] * count, "False": [False] * count}
        assert html_values[mask_note_elem_id(tab)] == f"<p>{html.escape(NOTE)}</p>"
        assert _help_in(html_values[help_elem_id(tab)]) == help_targets(header_help=False,
                                                                         tab=tab)
    assert (help_elem_id(TAB_IMG2IMG), mask_note_elem_id(TAB_IMG2IMG)) == (
        HELP_ELEM_ID, MASK_NOTE_ELEM_ID)
    # Both tabs' panels on one page: no element id twice, the txt2img ones marked.
    ids = described["elem_ids"]
    assert len(ids) == len(set(ids))
    txt2img_ids = [i for i in ids if i.startswith("facepop_txt2img")]
    assert len(txt2img_ids) == len(ids) // 2


def _help_in(value: str) -> dict:
    """The help texts as javascript/facepop.js reads them from the hidden element."""
    found = re.fullmatch(r'<div data-facepop-help="([^"]*)" hidden></div>', value)
    assert found, value
    return json.loads(html.unescape(found.group(1)))


def test_help_goes_on_each_control_and_the_accordions_only_on_its_header() -> None:
    specs = option_specs()
    for header_help in (True, False):
        targets = help_targets(header_help=header_help)
        assert len(targets) == len(specs)
        # No help on the sub-sections (their headers would show the accordion's).
        assert not {section_elem_id(title) for title, _ in LAYOUT if title} & set(targets)
        on_header = {elem_id for elem_id, target in targets.items() if target["header"]}
        assert on_header == ({"facepop"} if header_help else set())
        for spec in specs:
            at = "facepop" if header_help and spec.name == "enabled" else elem_id_for(spec.name)
            assert targets[at]["text"] == spec.help


def test_the_layout_places_every_option_exactly_once() -> None:
    names = list(layout_names())
    assert len(names) == len(set(names))
    assert sorted(names) == sorted(spec.name for spec in option_specs())


def test_panel_under_a1111s_gradio_matches_the_positional_args() -> None:
    assert gr.__version__ == "3.41.2"
    described = _describe_in(sys.executable)
    for tab in TABS:
        _check_against_settings(described["controls"][tab], tab)
    _check_events_and_html(described)


def test_the_enable_checkbox_can_be_the_hosts_input_accordion() -> None:
    made = []

    @contextlib.contextmanager
    def accordion(value, label, elem_id):
        checkbox = gr.Checkbox(value=value, label=label, elem_id=f"{elem_id}-checkbox")
        made.append((value, label, elem_id))
        with gr.Accordion(label, open=value, elem_id=elem_id):
            yield checkbox

    with gr.Blocks():
        panel = build_panel(gr, enable_accordion=accordion)
    assert made == [(False, "FacePop", "facepop")]
    assert panel.controls[0] is panel.by_name["enabled"]
    assert panel.controls[0].elem_id == "facepop-checkbox"
    readers = [reader for _, reader in panel.infotext_fields()]
    assert [control for control, _ in panel.infotext_fields()] == panel.controls
    pasted = {"Steps": "20", "FacePop enabled": "True", "FacePop padding": "20.0",
              "FacePop face order": "left_to_right", "FacePop face width": "wide"}
    values = [read(pasted) for read in readers]
    # Settings the image doesn't mention are its defaults; a garbled value changes nothing.
    assert values[option_names().index("face_width")] is None
    values[option_names().index("face_width")] = 720
    assert FacePopSettings.from_positional(values) == FacePopSettings(
        enabled=True, padding=20.0, face_order="left_to_right")
    # Parameters of an image made without FacePop leave the panel alone.
    assert all(read({"Steps": "20", "Seed": "1"}) is None for read in readers)
    assert panel.paste_field_names() == [spec.infotext_key for spec in option_specs()]


def option_names() -> list[str]:
    return [spec.name for spec in option_specs()]


def _gradio4_python() -> str | None:
    candidate = os.environ.get("FACEPOP_GRADIO4_PYTHON") or str(
        ROOT / ".venv-gradio4" / "bin" / "python")
    return candidate if Path(candidate).exists() else None


@pytest.mark.skipif(_gradio4_python() is None,
                    reason="no gradio 4 environment (.ci/run makes .venv-gradio4)")
def test_panel_under_forges_gradio_4_is_the_same_panel() -> None:
    described = _describe_in(_gradio4_python())
    assert described["gradio"].startswith("4.")
    for tab in TABS:
        _check_against_settings(described["controls"][tab], tab)
    _check_events_and_html(described)
    under_3 = _describe_in(sys.executable)
    for part in ("controls", "events", "html", "elem_ids"):
        assert described[part] == under_3[part], part


def test_the_mask_note_says_what_auto_uses_without_loading_anything(tmp_path) -> None:
    missing = tmp_path / "no-such-folder"
    assert mask_source_note(missing) == (
        f"No MODNet model in {missing}: Auto uses selfie segmentation")
    tmp_path.joinpath("readme.txt").write_text("not a model")
    assert mask_source_note(tmp_path).startswith("No MODNet model in ")
    checkpoint = tmp_path / "modnet_photographic_portrait_matting.ckpt"
    checkpoint.write_bytes(b"not converted by looking at it")
    assert mask_source_note(tmp_path) == (
        "MODNet model found: modnet_photographic_portrait_matting.ckpt")
    assert sorted(p.name for p in tmp_path.iterdir()) == [checkpoint.name, "readme.txt"]
    tmp_path.joinpath("modnet_photographic_portrait_matting.onnx").write_bytes(b"onnx")
    assert mask_source_note(tmp_path) == (
        "MODNet model found: modnet_photographic_portrait_matting.onnx")


def test_the_panel_in_the_webui_shows_the_note_for_its_models_folder(webui, tmp_path) -> None:
    models = tmp_path / "facepop-models"
    models.mkdir()
    webui.set_commandline_args(f"--facepop-models-dir {models}")
    webui.install_extension(ROOT)
    webui.load_scripts()

    def note() -> str:
        demo = webui.module("modules.ui").create_ui()
        (value,) = {block.value for block in demo.blocks.values()
                    if getattr(block, "elem_id", None) == MASK_NOTE_ELEM_ID}
        return value

    assert note() == f"<p>No MODNet model in {models}: Auto uses selfie segmentation</p>"
    models.joinpath("modnet_photographic_portrait_matting.onnx").write_bytes(b"onnx")
    assert note() == "<p>MODNet model found: modnet_photographic_portrait_matting.onnx</p>"


def test_the_webui_shows_the_panel_in_both_tabs_with_its_upscalers(webui) -> None:
    webui.load_extension(ROOT)
    demo = webui.module("modules.ui").create_ui()
    ids = [getattr(block, "elem_id", None) for block in demo.blocks.values()]
    ours = [i for i in ids if i and i.startswith("facepop")]
    assert len(ours) == len(set(ours))  # the WebUI made the panel twice, without a clash
    for runner, tab in ((webui.scripts.scripts_txt2img, TAB_TXT2IMG),
                        (webui.scripts.scripts_img2img, TAB_IMG2IMG)):
        script = runner.script("FacePop")
        assert script is not None and script.alwayson
        upscaler = script.controls[[s.name for s in option_specs()].index("upscaler")]
        assert upscaler.elem_id == elem_id_for("upscaler", tab)
        # the host's upscalers, read when the UI is made
        assert [c[0] if isinstance(c, tuple) else c for c in upscaler.choices] == [
            "Lanczos", "None", "Nearest", "R-ESRGAN 4x+"]
        assert upscaler.allow_custom_value
    # pasting a txt2img image's parameters reaches the txt2img panel too
    fields = webui.infotext_utils.paste_fields["txt2img"]["fields"]
    pasted = webui.paste("a cat\nSteps: 20, FacePop enabled: True, FacePop upscaler: 4x-Foo",
                         fields)
    values = [u.get("value") for u in pasted if isinstance(u, dict)]
    assert True in values and "4x-Foo" in values



def _warnings_are_errors() -> None:
    """Every warning an error, except what gradio's web stack says about itself (gradio 4
    and fastapi 0.104: on_event; starlette: its multipart import)."""
    warnings.simplefilter("error")
    warnings.filterwarnings("ignore", message=r"\s*on_event is deprecated")
    warnings.filterwarnings("ignore", category=PendingDeprecationWarning,
                            module=r"(fastapi|starlette)")


def test_the_panel_builds_in_the_webui_without_a_single_warning(webui) -> None:
    """A wrong gradio keyword must fail here: gradio 3.41 warns about an unused keyword,
    and Forge's gradio shim turns one into a warning and drops it (the panel would look
    fine in a log), so every warning is an error while the UI is made."""
    webui.install_extension(ROOT)
    webui.load_scripts()
    with warnings.catch_warnings():
        _warnings_are_errors()
        webui.create_ui()
    runner = webui.module("modules.scripts").scripts_img2img
    assert runner.script("FacePop").unavailable is None


def test_a_wrong_gradio_keyword_fails_the_build(webui) -> None:
    """The check above can fail: one wrong keyword in the panel, in this host's gradio."""

    class WrongSlider:
        def __getattr__(self, name):
            made = getattr(gr, name)
            if name != "Slider":
                return made
            return lambda **kwargs: made(**kwargs, step_size=1)  # (no such keyword)

    webui.load_scripts([])
    with warnings.catch_warnings(), pytest.raises(Warning, match="step_size"):
        _warnings_are_errors()
        shim = (webui.module("modules.gradio_extensions").forge_shim() if webui.forge
                else contextlib.nullcontext())
        with shim, gr.Blocks():
            build_panel(WrongSlider())
