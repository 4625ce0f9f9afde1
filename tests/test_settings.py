"""The settings model: defaults, validation, the two API forms, schema and infotext."""

from __future__ import annotations

import jsonschema
import pytest

from lib_facepop.errors import SettingsError
from lib_facepop.settings import (
    GROUPS,
    FacePopSettings,
    infotext_fields,
    json_schema,
    option_specs,
    settings_from_infotext,
)


def test_defaults_match_the_original_facepop() -> None:
    s = FacePopSettings()
    assert (s.enabled, s.mask_source, s.aggressive_detection) == (False, "auto", True)
    assert (s.face_width, s.face_height, s.padding) == (720, 720, 35.0)
    assert (s.keep_aspect_ratio, s.confidence, s.max_faces) == (True, 0.5, 5)
    assert (s.face_steps, s.face_cfg_scale, s.face_denoising_strength) == (40, 7.0, 0.4)
    assert (s.face_prompt, s.face_negative_prompt) == ("", "")
    assert s.auto_align and s.save_faces and not s.debug


def test_every_option_has_label_help_and_a_known_group() -> None:
    for spec in option_specs():
        assert spec.label and spec.help, spec.name
        assert spec.group in GROUPS, spec.name
    assert GROUPS == ("basics", "face pass", "advanced", "debugging", "restore & colour",
                      "eyes")


def test_from_dict_fills_missing_values_with_defaults() -> None:
    s = FacePopSettings.from_dict({"enabled": True, "padding": 20})
    assert s.enabled is True
    assert s.padding == 20.0 and isinstance(s.padding, float)
    assert s.face_width == 720


@pytest.mark.parametrize(("values", "field", "words"), [
    ({"face_widht": 512}, "face_widht", "did you mean 'face_width'"),
    ({"bogus": 1}, "bogus", "unknown setting"),
    ({"face_width": 4096}, "face_width", "above the maximum 2048"),
    ({"face_width": 32}, "face_width", "below the minimum 64"),
    ({"padding": -1}, "padding", "below the minimum 0"),
    ({"padding": 101}, "padding", "above the maximum 100"),
    ({"face_width": 512.5}, "face_width", "whole number"),
    ({"enabled": "yes"}, "enabled", "true or false"),
    ({"confidence": "high"}, "confidence", "a number"),
    ({"confidence": float("nan")}, "confidence", "a finite number"),
    ({"face_order": "random"}, "face_order", "not one of"),
    ({"face_prompt": 3}, "face_prompt", "expected text"),
])
def test_bad_values_are_rejected_naming_the_field(values, field, words) -> None:
    with pytest.raises(SettingsError) as caught:
        FacePopSettings.from_dict(values)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}:")
    assert words in str(caught.value)


def test_positional_order_is_the_field_order_and_round_trips() -> None:
    s = FacePopSettings(enabled=True, face_width=512, face_prompt="a face", debug=True)
    values = s.to_positional()
    assert [spec.name for spec in option_specs()][:3] == ["enabled", "mask_source",
                                                          "aggressive_detection"]
    assert FacePopSettings.from_positional(values) == s
    assert FacePopSettings.from_positional(values[:1]) == FacePopSettings(enabled=True)


def test_positional_list_longer_than_the_settings_is_rejected() -> None:
    with pytest.raises(SettingsError, match="positional values"):
        FacePopSettings.from_positional([False] * (len(option_specs()) + 1))


def test_from_args_accepts_one_dict_or_a_list_but_not_a_mix() -> None:
    assert FacePopSettings.from_args([{"enabled": True}]).enabled is True
    assert FacePopSettings.from_args([True, "selfie"]).mask_source == "selfie"
    assert FacePopSettings.from_args([]) == FacePopSettings()
    # The host writes a dict request over its default slots: the rest are defaults.
    from_host = FacePopSettings.from_args([{"padding": 3}, *FacePopSettings().to_positional()[1:]])
    assert from_host == FacePopSettings(padding=3.0)
    with pytest.raises(SettingsError, match="not a mix"):
        FacePopSettings.from_args([True, {"padding": 3}])


def test_settings_are_validated_when_built_directly() -> None:
    with pytest.raises(SettingsError, match="max_faces"):
        FacePopSettings(max_faces=-1)


def test_json_schema_accepts_defaults_and_rejects_what_the_model_rejects() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid(FacePopSettings().to_dict())
    assert not validator.is_valid({"face_width": 4096})
    assert not validator.is_valid({"nope": 1})
    assert not validator.is_valid({"face_order": "random"})
    positions = [schema["properties"][s.name]["x-position"] for s in option_specs()]
    assert positions == list(range(len(option_specs())))


def test_infotext_holds_only_non_defaults_and_restores_them() -> None:
    s = FacePopSettings(enabled=True, padding=20.0, face_prompt="freckles, [SEP] beard",
                        face_order="left_to_right")
    fields = infotext_fields(s)
    assert fields == {
        "FacePop enabled": "True",
        "FacePop padding": "20.0",
        "FacePop face prompt": "freckles, [SEP] beard",
        "FacePop face order": "left_to_right",
    }
    assert settings_from_infotext(fields) == s
    assert settings_from_infotext({}) == FacePopSettings()


def test_infotext_with_a_garbled_value_names_the_field() -> None:
    with pytest.raises(SettingsError, match="face_width"):
        settings_from_infotext({"FacePop face width": "wide"})
