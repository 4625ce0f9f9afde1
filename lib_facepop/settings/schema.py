"""The JSON schema of the named settings the API accepts, generated from the model."""

from __future__ import annotations

from typing import Any

from lib_facepop.settings.model import option_specs


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the named-settings object the API accepts."""
    properties: dict[str, Any] = {}
    for position, spec in enumerate(option_specs()):
        prop: dict[str, Any] = {
            "title": spec.label,
            "description": spec.help,
            "default": spec.default,
            "x-group": spec.group,
            "x-position": position,
        }
        if spec.kind is bool:
            prop["type"] = "boolean"
        elif spec.kind is int:
            prop["type"] = "integer"
        elif spec.kind is float:
            prop["type"] = "number"
        else:
            prop["type"] = "string"
        if spec.minimum is not None:
            prop["minimum"] = spec.minimum
        if spec.maximum is not None:
            prop["maximum"] = spec.maximum
        if spec.pattern is not None:
            prop["pattern"] = f"^(?:{spec.pattern})$"
        if spec.choices is not None:
            prop["enum"] = list(spec.choices)
            prop["x-choice-labels"] = dict(zip(spec.choices, spec.choice_labels or spec.choices,
                                               strict=True))
        properties[spec.name] = prop
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "FacePop settings",
        "description": "Named settings for alwayson_scripts.FacePop.args[0]; missing "
                       "settings take their defaults.",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
