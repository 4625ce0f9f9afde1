"""Stands in for modules/infotext_utils.py (A1111 v1.10.1): infotext ("PNG info") parsing
and pasting it into the UI.

Kept: quote()/unquote(); parse_generation_parameters() (prompt lines, "Negative prompt:",
the last line as "Key: value" pairs when it has at least three, quoted values, "WxH"
values split into "-1"/"-2" keys, the defaults the host adds for missing keys, and
opts.infotext_skip_pasting); PasteField (label or reader function, api name);
paste_fields and add_paste_fields(); get_override_settings() and
create_override_settings_dict() (settings that declare an infotext label).
paste_func(fields, infotext) does what the UI's paste button does (connect_paste): an
empty text reads params.txt, the text is parsed, the infotext_pasted callbacks run, and
each field gives a gr.update: a reader's result (a dict is passed on as an update),
else the value under its key, converted to the type of the component's current value
("False" -> False for bools, float() for ints), no change when missing or unconvertible.
Left out: style extraction, hypernet/old hires-fix/emphasis/version back-compat keys,
the button wiring.
"""

import json
import os
import re

import gradio as gr

from modules import errors, script_callbacks, shared

_KEY = r"\s*(\w[\w \-/]+):\s*"
_VALUE = r'("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)'
re_param = re.compile(_KEY + _VALUE)
re_imagesize = re.compile(r"(\d+)x(\d+)")  # (used with fullmatch)
type_of_gr_update = dict  # what gr.update() gives under gradio 3

_NEGATIVE = "Negative prompt:"
# what parse_generation_parameters adds when the infotext doesn't mention the key
_MISSING = {
    "Clip skip": "1", "Hires resize-1": 0, "Hires resize-2": 0,
    "Hires sampler": "Use same sampler", "Hires schedule type": "Use same scheduler",
    "Hires checkpoint": "Use same checkpoint", "Hires prompt": "", "Hires negative prompt": "",
    "Mask mode": "Inpaint masked", "Masked content": "original", "Inpaint area": "Whole picture",
    "Masked area padding": 32, "RNG": "GPU", "Schedule type": "Automatic",
    "Schedule max sigma": 0, "Schedule min sigma": 0, "Schedule rho": 0, "VAE Encoder": "Full",
    "VAE Decoder": "Full", "FP8 weight": "Disable", "Refiner switch by sampling steps": False,
}


class PasteField(tuple):
    """(component, target): target is an infotext key (.label) or a reader of the parsed
    parameters (.function); .api names the API request field it may also set."""

    def __new__(cls, component, target, *, api=None):
        field = super().__new__(cls, (component, target))
        field.component, field.api = component, api
        reader = target if callable(target) else None
        field.label, field.function = (target, None) if isinstance(target, str) else (None, reader)
        return field


paste_fields: dict[str, dict] = {}


def reset():
    paste_fields.clear()


def add_paste_fields(tabname, init_img, fields, override_settings_component=None):
    fields = [f if isinstance(f, PasteField) else PasteField(*f) for f in fields or []]
    paste_fields[tabname] = {"init_img": init_img, "fields": fields,
                             "override_settings_component": override_settings_component}


def quote(text):
    plain = not any(mark in str(text) for mark in ",\n:")
    return text if plain else json.dumps(text, ensure_ascii=False)


def unquote(text):
    if not (text.startswith('"') and text.endswith('"')) or len(text) < 2:
        return text
    try:
        return json.loads(text)
    except Exception:
        return text


def _joined(lines):
    text = ""
    for line in lines:  # empty lines before the first text are dropped, later ones kept
        text = f"{text}\n{line}" if text else line
    return text


def parse_generation_parameters(x: str, skip_fields: list[str] | None = None):
    skipped = shared.opts.infotext_skip_pasting if skip_fields is None else skip_fields
    lines = x.strip().split("\n")
    last = lines.pop()
    if len(re_param.findall(last)) < 3:
        lines.append(last)
        last = ""

    prompt, negative, in_negative = [], [], False
    for line in (line.strip() for line in lines):
        if line.startswith(_NEGATIVE):
            in_negative, line = True, line[len(_NEGATIVE):].strip()
        (negative if in_negative else prompt).append(line)

    res = {}
    for key, value in re_param.findall(last):
        if not value:  # the host fails on an empty value and drops that key
            continue
        if value[0] == '"' and value[-1] == '"':
            value = unquote(value)
        size = re_imagesize.fullmatch(value)
        if size:
            res[f"{key}-1"], res[f"{key}-2"] = size.group(1), size.group(2)
        else:
            res[key] = value
    res["Prompt"], res["Negative prompt"] = _joined(prompt), _joined(negative)
    for key, value in _MISSING.items():
        res.setdefault(key, value)
    for key in skipped:
        res.pop(key, None)
    return res


def _settings_with_infotext():
    return [(info.infotext, key) for key, info in shared.opts.data_labels.items() if info.infotext]


def get_override_settings(params, *, skip_fields=None):
    """[(infotext key, setting, value)] for infotext values that differ from the settings."""
    found = []
    for label, setting in _settings_with_infotext():
        if label in (skip_fields or {}) or params.get(label) is None:
            continue
        if setting == "sd_model_checkpoint" and shared.opts.disable_weights_auto_swap:
            continue
        value = shared.opts.cast_value(setting, params[label])
        if value != getattr(shared.opts, setting, None):
            found.append((label, setting, value))
    return found


def create_override_settings_dict(text_pairs):
    given = dict(pair.split(":", maxsplit=1) for pair in text_pairs)
    return {setting: shared.opts.cast_value(setting, given[label].strip())
            for label, setting in _settings_with_infotext() if label in given}


def _converted(component, value):
    kind = type(component.value)
    if kind is bool and value == "False":
        return False
    return float(value) if kind is int else kind(value)


def paste_func(fields, infotext):
    """Double only: the gr.update list the paste button gives for `infotext` and `fields`."""
    if not infotext and not shared.cmd_opts.hide_ui_dir_config \
            and not shared.cmd_opts.no_prompt_history:
        try:
            with open(os.path.join(shared.data_path, "params.txt"), encoding="utf8") as f:
                infotext = f.read()
        except OSError:
            pass
    params = parse_generation_parameters(infotext)
    script_callbacks.infotext_pasted_callback(infotext, params)
    updates = []
    for component, key in fields:
        if callable(key):
            try:
                value = key(params)
            except Exception:
                errors.report(f"Error executing {key}", exc_info=True)  # (then: no change)
                value = None
        else:
            value = params.get(key)
        if value is None:
            updates.append(gr.update())
        elif isinstance(value, type_of_gr_update):
            updates.append(value)
        else:
            try:
                updates.append(gr.update(value=_converted(component, value)))
            except Exception:
                updates.append(gr.update())
    return updates
