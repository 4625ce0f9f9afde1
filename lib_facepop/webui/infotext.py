"""Restoring FacePop's settings from PNG info ("Send to img2img", paste)."""

from __future__ import annotations

from typing import Any

from lib_facepop.settings import INFOTEXT_PREFIX, option_specs


def fill_missing_settings(_infotext: str, params: dict[str, Any]) -> None:
    """``script_callbacks.on_infotext_pasted`` callback.

    Infotext holds only the settings that differ from their defaults. When the pasted
    parameters come from an image made with FacePop, the settings it leaves out are its
    defaults: fill them in, so pasting reproduces that image's settings exactly. Parameters
    of an image made without FacePop leave the panel as it is.
    """
    if not any(isinstance(key, str) and key.startswith(f"{INFOTEXT_PREFIX} ")
               for key in params):
        return
    for spec in option_specs():
        if spec.infotext_key not in params:
            params[spec.infotext_key] = _as_text(spec.default)


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)
