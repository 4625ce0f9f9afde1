"""The panel builds under A1111's gradio (3.41.2) and Forge's (gradio 4), and its
components match the positional API args one to one."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import gradio as gr
import pytest

from lib_facepop.settings import FacePopSettings, option_specs
from lib_facepop.webui.panel import build_panel, elem_id_for, layout_names

ROOT = Path(__file__).resolve().parents[1]

# Describes each control the same way under any gradio, for comparison across versions.
DESCRIBE = """
import json, sys
import gradio as gr
from lib_facepop.webui.panel import build_panel

def describe(control):
    return {"type": type(control).__name__, "label": control.label,
            "value": control.value, "elem_id": control.elem_id,
            "minimum": getattr(control, "minimum", None),
            "maximum": getattr(control, "maximum", None),
            "choices": [list(c) if isinstance(c, (list, tuple)) else [c, c]
                        for c in (getattr(control, "choices", None) or [])] or None}

with gr.Blocks():
    panel = build_panel(gr)
print(json.dumps({"gradio": gr.__version__, "controls": [describe(c) for c in panel.controls]}))
"""


def _describe_in(python: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([python, "-c", DESCRIBE], capture_output=True, text=True, env=env,
                          timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _check_against_settings(controls: list[dict]) -> None:
    specs = option_specs()
    assert len(controls) == len(specs)
    for control, spec in zip(controls, specs, strict=True):
        assert control["label"] == spec.label
        assert control["value"] == spec.default, spec.name
        assert control["elem_id"] == elem_id_for(spec.name)
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
        else:
            assert control["type"] == "Textbox"
    values = [control["value"] for control in controls]
    assert FacePopSettings.from_positional(values) == FacePopSettings()


def test_the_layout_places_every_option_exactly_once() -> None:
    names = list(layout_names())
    assert len(names) == len(set(names))
    assert sorted(names) == sorted(spec.name for spec in option_specs())


def test_panel_under_a1111s_gradio_matches_the_positional_args() -> None:
    assert gr.__version__ == "3.41.2"
    described = _describe_in(sys.executable)
    _check_against_settings(described["controls"])


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
    _check_against_settings(described["controls"])
    assert described["controls"] == _describe_in(sys.executable)["controls"]
