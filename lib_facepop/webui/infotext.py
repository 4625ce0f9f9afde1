"""Reading FacePop's settings back from PNG info ("Send to img2img", paste, API infotext).

Each panel control gets a reader as its infotext field. The WebUI calls it with the parsed
parameters, and it returns the typed value (or None: leave the control as it is). Infotext
holds only the settings that differ from their defaults, so for parameters of an image made
with FacePop a missing setting means its default; parameters of an image made without
FacePop leave the panel as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from lib_facepop.errors import SettingsError
from lib_facepop.settings import INFOTEXT_PREFIX, Value, option_spec, parse_infotext_value


def made_with_facepop(params: Mapping[str, Any]) -> bool:
    return any(isinstance(key, str) and key.startswith(f"{INFOTEXT_PREFIX} ")
               for key in params)


def infotext_reader(name: str) -> Callable[[Mapping[str, Any]], Value | None]:
    """The reader for one setting."""
    spec = option_spec(name)

    def read(params: Mapping[str, Any]) -> Value | None:
        if not made_with_facepop(params):
            return None
        if spec.infotext_key not in params:
            return spec.default
        try:
            return parse_infotext_value(spec, params[spec.infotext_key])
        except SettingsError:
            return None

    read.__name__ = f"read_facepop_{name}"
    return read
