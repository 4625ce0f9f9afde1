"""Settings in the infotext (PNG info): the entries written for non-default settings, and
settings read back from them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lib_facepop.errors import SettingsError
from lib_facepop.settings.model import FacePopSettings, option_spec, option_specs
from lib_facepop.settings.spec import OptionSpec, Value


def infotext_fields(settings: FacePopSettings) -> dict[str, str]:
    """The PNG-info entries for every non-default setting."""
    entries: dict[str, str] = {}
    for name, value in settings.non_defaults().items():
        spec = option_spec(name)
        entries[spec.infotext_key] = _format_infotext_value(value)
    return entries


def settings_from_infotext(params: Mapping[str, str]) -> FacePopSettings:
    """Rebuild settings from parsed PNG-info entries; absent keys take their defaults.

    Keys that belong to FacePop but can't be parsed raise SettingsError naming the field.
    """
    values: dict[str, Value] = {}
    for spec in option_specs():
        if spec.infotext_key in params:
            values[spec.name] = parse_infotext_value(spec, params[spec.infotext_key])
    return FacePopSettings(**values)


def _format_infotext_value(value: Value) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def parse_infotext_value(spec: OptionSpec, text: Any) -> Value:
    raw = str(text).strip()
    try:
        if spec.kind is bool:
            lowered = raw.lower()
            if lowered in ("true", "1", "yes", "on"):
                return True
            if lowered in ("false", "0", "no", "off"):
                return False
            raise ValueError(raw)
        if spec.kind is int:
            return int(float(raw)) if float(raw).is_integer() else int(raw)
        if spec.kind is float:
            return float(raw)
    except ValueError:
        raise SettingsError(spec.name, f"can't read {raw!r} from the infotext") from None
    return str(text)


def known_infotext_keys() -> Iterable[str]:
    return (spec.infotext_key for spec in option_specs())
