"""The FacePop accordion in the img2img and txt2img tabs, built from the settings model.

Works with gradio 3.41 (A1111) and gradio 4 (Forge): only components, arguments and events
both lines share are used. Building the panel has no side effects beyond creating
components and their events, because the WebUI calls ``ui()`` whenever it builds the UI
or the API's default script args (docs/design.md section 4). The WebUI builds it once per
tab: the txt2img panel's element ids carry the tab (``facepop_txt2img_...``), the img2img
panel's keep the plain ``facepop_...`` ids, so no id is on the page twice.

The upscaler for small faces is a dropdown of the host's upscalers (the caller reads
their names: no model is loaded) that also takes a typed name (``allow_custom_value``,
in both gradio lines), so a setting pasted or sent through the API that names an
upscaler of another WebUI still shows.

Besides the controls the panel holds two HTML elements: a line under the mask choice
saying which mask source "Auto" uses (given by the caller, who looks at the models
folder), and a hidden element with every help text (``HELP_ELEM_ID``), from which
javascript/facepop.js puts each help on its own control and the accordion's help on the
accordion's header only. The texts come with the page, so no request is needed (a route
the browser fetched from would be closed by the WebUI's --api-auth).
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from lib_facepop.settings import (
    DEFAULT_UPSCALER,
    SEPARATE_PROCESSING_SETTINGS,
    OptionSpec,
    option_spec,
    option_specs,
)
from lib_facepop.webui.infotext import infotext_reader

TAB_IMG2IMG = "img2img"
TAB_TXT2IMG = "txt2img"
PANEL_ELEM_ID = "facepop"
HELP_ELEM_ID = "facepop_help"
MASK_NOTE_ELEM_ID = "facepop_mask_note"
HELP_DATA_ATTRIBUTE = "data-facepop-help"
SEPARATE_OPTION = "separate_face_processing"
UPSCALER_OPTION = "upscaler"
OWN_UPSCALERS = (DEFAULT_UPSCALER, "None")
"""The upscaler choices without a host (FacePop's own)."""
TXT2IMG_FACE_PASS_SETTINGS = ("face_denoising_strength",)
"""Face-pass settings a txt2img face pass always uses (it has no job's value to take)."""

# (title of a closed sub-accordion, or None for the top of the panel; rows of option names)
LAYOUT: tuple[tuple[str | None, tuple[tuple[str, ...], ...]], ...] = (
    (None, (
        ("mask_source", "aggressive_detection"),
        ("face_width", "face_height"),
        ("padding", "keep_aspect_ratio"),
        ("confidence", "max_faces"),
        ("min_face_size", "face_order"),
    )),
    ("Face pass", (
        ("separate_face_processing", "face_seed_mode"),
        ("face_steps", "face_cfg_scale", "face_distilled_cfg_scale"),
        ("face_denoising_strength",),
        ("face_prompt",),
        ("face_negative_prompt",),
    )),
    ("Restore and upscale", (
        ("face_restoration", "colour_match"),
        ("codeformer_weight", "restore_visibility"),
        ("upscaler", "enhance_filter"),
    )),
    ("Eyes", (
        ("eyes_pass", "keep_original_eyes"),
        ("eyes_steps", "eyes_cfg_scale", "eyes_denoising_strength"),
        ("eyes_width",),
        ("eyes_prompt",),
        ("eyes_negative_prompt",),
    )),
    ("Advanced", (
        ("auto_align", "rotation_threshold"),
        ("mask_feather", "remove_background"),
        ("face_pass_scripts", "face_pass_controlnet_units"),
        ("output_folder",),
    )),
    ("Debugging", (
        ("debug", "save_faces"),
    )),
)

ENABLE_OPTION = "enabled"


def panel_elem_id(tab: str = TAB_IMG2IMG) -> str:
    """The panel's own element id in a tab; every other id of the panel starts with it."""
    return PANEL_ELEM_ID if tab == TAB_IMG2IMG else f"{PANEL_ELEM_ID}_{tab}"


def elem_id_for(name: str, tab: str = TAB_IMG2IMG) -> str:
    return f"{panel_elem_id(tab)}_{name}"


def help_elem_id(tab: str = TAB_IMG2IMG) -> str:
    return elem_id_for("help", tab)


def mask_note_elem_id(tab: str = TAB_IMG2IMG) -> str:
    return elem_id_for("mask_note", tab)


def following_separate(tab: str = TAB_IMG2IMG) -> tuple[str, ...]:
    """The face-pass settings that are interactive only with separate face processing on,
    in a tab."""
    always = TXT2IMG_FACE_PASS_SETTINGS if tab == TAB_TXT2IMG else ()
    return tuple(name for name in SEPARATE_PROCESSING_SETTINGS if name not in always)


@dataclass
class Panel:
    """The created controls: ``controls`` in positional-API order, ``by_name`` by option."""

    controls: list[Any]
    by_name: dict[str, Any]

    def infotext_fields(self) -> list[tuple[Any, Callable[[Any], Any]]]:
        """(control, reader) pairs: the WebUI calls each reader with pasted parameters."""
        return [(self.by_name[spec.name], infotext_reader(spec.name))
                for spec in option_specs()]

    def paste_field_names(self) -> list[str]:
        return [spec.infotext_key for spec in option_specs()]


EnableAccordion = Callable[[bool, str, str], AbstractContextManager[Any]]


def build_panel(gr: Any, enable_accordion: EnableAccordion | None = None,
                mask_note: str | None = None, *, tab: str = TAB_IMG2IMG,
                upscalers: Sequence[str] | None = None) -> Panel:
    """Create the panel's components inside the current gradio Blocks context.

    ``enable_accordion(value, label, elem_id)`` makes the outer accordion whose header
    checkbox is the "enabled" option (the host's InputAccordion); without it a plain
    accordion holds an ordinary checkbox. ``mask_note`` is shown under the mask choice.
    ``tab`` is the WebUI tab the panel is made for; ``upscalers`` the names the upscaler
    dropdown offers (default: FacePop's own, Lanczos and None).
    """
    specs = {spec.name: spec for spec in option_specs()}
    by_name: dict[str, Any] = {}
    enabled_spec = specs[ENABLE_OPTION]
    panel_id = panel_elem_id(tab)
    if enable_accordion is not None:
        outer = enable_accordion(bool(enabled_spec.default), "FacePop", panel_id)
    else:
        outer = gr.Accordion("FacePop", open=False, elem_id=panel_id)
    choices = list(upscalers) if upscalers else list(OWN_UPSCALERS)
    with outer as accordion:
        if enable_accordion is not None:
            by_name[ENABLE_OPTION] = accordion
        else:
            by_name[ENABLE_OPTION] = make_control(gr, enabled_spec, tab)
        for title, rows in LAYOUT:
            section = (gr.Accordion(title, open=False, elem_id=section_elem_id(title, tab))
                       if title else gr.Group(elem_id=elem_id_for("basics", tab)))
            with section:
                for row in rows:
                    with gr.Row():
                        for name in row:
                            note = mask_note if name == "mask_source" else None
                            by_name[name] = _control_with_note(gr, specs[name], note, tab,
                                                               choices)
        gr.HTML(help_html(help_targets(header_help=enable_accordion is not None, tab=tab)),
                elem_id=help_elem_id(tab))
    _follow_separate_face_processing(gr, by_name, tab)
    return Panel(controls=[by_name[spec.name] for spec in option_specs()], by_name=by_name)


def _control_with_note(gr: Any, spec: OptionSpec, note: str | None, tab: str,
                       upscalers: Sequence[str]) -> Any:
    if spec.name == UPSCALER_OPTION:
        return upscaler_dropdown(gr, spec, tab, upscalers)
    if not note:
        return make_control(gr, spec, tab)
    with gr.Column():
        control = make_control(gr, spec, tab)
        gr.HTML(f"<p>{html.escape(note)}</p>", elem_id=mask_note_elem_id(tab))
    return control


def upscaler_dropdown(gr: Any, spec: OptionSpec, tab: str, upscalers: Sequence[str]) -> Any:
    """The upscaler for small faces: the names offered, or any name typed in."""
    return gr.Dropdown(choices=list(upscalers), value=spec.default, allow_custom_value=True,
                       label=spec.label, elem_id=elem_id_for(spec.name, tab))


def _follow_separate_face_processing(gr: Any, by_name: dict[str, Any], tab: str) -> None:
    """The face-pass values are interactive only while "Separate face processing" is on
    (they are unused otherwise), also when a paste changes it."""
    followers = [by_name[name] for name in following_separate(tab)]

    def follow(separate: bool) -> list[Any]:
        return [gr.update(interactive=bool(separate)) for _ in followers]

    separate = by_name[SEPARATE_OPTION]
    separate.change(fn=follow, inputs=[separate], outputs=followers, queue=False,
                    show_progress="hidden")


def help_targets(*, header_help: bool, tab: str = TAB_IMG2IMG) -> dict[str, dict[str, Any]]:
    """{elem_id: {"text": help, "header": bool}}: where each help text goes. The "enabled"
    help goes on the accordion's header when the accordion's checkbox is that option
    (``header_help``), else on its checkbox; every other help on its own control."""
    targets: dict[str, dict[str, Any]] = {}
    for spec in option_specs():
        if spec.name == ENABLE_OPTION and header_help:
            targets[panel_elem_id(tab)] = {"text": spec.help, "header": True}
        else:
            targets[elem_id_for(spec.name, tab)] = {"text": spec.help, "header": False}
    return targets


def help_html(targets: dict[str, dict[str, Any]]) -> str:
    """The hidden element that carries the help texts to javascript/facepop.js."""
    data = html.escape(json.dumps(targets, ensure_ascii=True), quote=True)
    return f'<div {HELP_DATA_ATTRIBUTE}="{data}" hidden></div>'


def make_control(gr: Any, spec: OptionSpec, tab: str = TAB_IMG2IMG) -> Any:
    """The gradio component for one option, its value the option's default (face-pass
    values start non-interactive while separate face processing is off by default)."""
    common = {"label": spec.label, "value": spec.default,
              "elem_id": elem_id_for(spec.name, tab)}
    if spec.name in following_separate(tab):
        common["interactive"] = bool(option_spec(SEPARATE_OPTION).default)
    if spec.kind is bool:
        return gr.Checkbox(**common)
    if spec.choices is not None:
        # (label, value): the panel reads well, the API and the infotext keep the values.
        return gr.Radio(choices=[(spec.label_of(value), value) for value in spec.choices],
                        **common)
    if spec.kind in (int, float):
        if spec.minimum is None or spec.maximum is None:
            return gr.Number(precision=0 if spec.kind is int else None, **common)
        return gr.Slider(minimum=spec.minimum, maximum=spec.maximum, step=spec.step or 1,
                         **common)
    lines = 3 if spec.multiline else 1
    return gr.Textbox(lines=lines, max_lines=max(lines, 10), placeholder=_placeholder(spec),
                      **common)


def layout_names() -> Sequence[str]:
    """Every option name the layout places, in layout order (plus "enabled" first)."""
    return [ENABLE_OPTION, *(name for _, rows in LAYOUT for row in rows for name in row)]


def section_elem_id(title: str, tab: str = TAB_IMG2IMG) -> str:
    """The elem_id of a sub-section's accordion ("Face pass" -> "facepop_face_pass")."""
    return elem_id_for(title.lower().replace(" ", "_"), tab)


def _placeholder(spec: OptionSpec) -> str:
    return {
        "face_prompt": "blank = the main prompt; face 1 [SEP] face 2 ...",
        "face_negative_prompt": "blank = the main negative prompt",
        "face_pass_scripts": "e.g. controlnet",
        "output_folder": "blank = <the tab's output folder>/facepop",
    }.get(spec.name, "")
