"""Coercion and validation of one option's value: strict types, ranges, choices and
patterns; a SettingsError names the field and what is wrong."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from typing import Any

from lib_facepop.errors import SettingsError
from lib_facepop.settings.spec import OptionSpec, Value


def unknown_key_message(key: str, specs: Mapping[str, OptionSpec]) -> str:
    close = difflib.get_close_matches(key.lower().replace("-", "_"), list(specs), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else "."
    return f"unknown setting{hint} Known settings: {', '.join(specs)}"


def coerce(spec: OptionSpec, value: Any) -> Value:
    """The value as the option's type, strictly: no silent truncation, no str -> number."""
    if spec.kind is bool:
        if isinstance(value, bool):
            return value
        raise SettingsError(spec.name, f"expected true or false, got {value!r}")
    if spec.kind is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SettingsError(spec.name, f"expected a whole number, got {value!r}")
        if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
            raise SettingsError(spec.name, f"expected a whole number, got {value!r}")
        return int(value)
    if spec.kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SettingsError(spec.name, f"expected a number, got {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise SettingsError(spec.name, f"expected text, got {value!r}")
    return value


def check_range(spec: OptionSpec, value: Value) -> None:
    """Numbers within the option's range, text among its choices (types already checked)."""
    if spec.kind in (int, float):
        if not math.isfinite(value):
            raise SettingsError(spec.name, f"expected a finite number, got {value!r}")
        if spec.minimum is not None and value < spec.minimum:
            raise SettingsError(
                spec.name, f"{value!r} is below the minimum {_fmt(spec.minimum)}")
        if spec.maximum is not None and value > spec.maximum:
            raise SettingsError(
                spec.name, f"{value!r} is above the maximum {_fmt(spec.maximum)}")
    elif spec.choices is not None and value not in spec.choices:
        raise SettingsError(
            spec.name, f"{value!r} is not one of {', '.join(map(repr, spec.choices))}")
    elif spec.pattern is not None and not re.fullmatch(spec.pattern, str(value)):
        raise SettingsError(spec.name, f"{value!r} is not {spec.pattern_meaning}")


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)
