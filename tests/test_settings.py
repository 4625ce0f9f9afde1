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


QUALITY = dict(face_restoration="codeformer", codeformer_weight=0.55, restore_visibility=0.8,
               upscaler="R-ESRGAN 4x+", enhance_filter="bilateral", colour_match=False,
               eyes_pass=True, keep_original_eyes=True,
               eyes_prompt="[PROMPT], green eyes [SEP] brown eyes",
               eyes_negative_prompt="blurry", eyes_steps=12, eyes_cfg_scale=5.5,
               eyes_denoising_strength=0.2, eyes_width=768)


def test_restore_upscale_eyes_and_colour_options_round_trip_every_surface() -> None:
    s = FacePopSettings(enabled=True, **QUALITY)
    assert FacePopSettings.from_positional(s.to_positional()) == s
    assert FacePopSettings.from_dict(s.to_dict()) == s
    assert settings_from_infotext(infotext_fields(s)) == s
    assert infotext_fields(s)["FacePop upscaler"] == "R-ESRGAN 4x+"
    assert infotext_fields(s)["FacePop colour match"] == "False"
    validator = jsonschema.Draft202012Validator(json_schema())
    assert validator.is_valid(s.to_dict())
    schema = json_schema()["properties"]
    assert schema["face_restoration"]["x-choice-labels"] == {
        "none": "None", "codeformer": "CodeFormer", "gfpgan": "GFPGAN"}
    assert schema["enhance_filter"]["enum"] == ["none", "unsharp_mask", "bilateral", "median"]
    assert schema["upscaler"]["type"] == "string" and "enum" not in schema["upscaler"]
    assert s.eyes_size == (768, 384)


def test_new_options_come_after_the_first_releases_so_positional_args_keep_meaning() -> None:
    names = [spec.name for spec in option_specs()]
    assert names.index("save_faces") < min(names.index(name) for name in QUALITY)
    old = FacePopSettings(enabled=True, debug=True).to_positional()[:names.index("save_faces")
                                                                  + 1]
    assert FacePopSettings.from_positional(old) == FacePopSettings(enabled=True, debug=True)


def test_quality_defaults() -> None:
    s = FacePopSettings()
    assert (s.face_restoration, s.upscaler, s.enhance_filter) == ("none", "Lanczos", "none")
    assert s.colour_match is True  # measured: bench/bench_colour_match.py
    assert not s.eyes_pass and not s.keep_original_eyes
    assert "clear iris" in s.eyes_prompt and s.eyes_size == (512, 256)
    assert 0.5 <= s.codeformer_weight <= 0.7


@pytest.mark.parametrize(("values", "field", "words"), [
    ({"face_restoration": "restoreformer"}, "face_restoration", "not one of"),
    ({"codeformer_weight": 1.5}, "codeformer_weight", "above the maximum 1"),
    ({"enhance_filter": "sharpen"}, "enhance_filter", "not one of"),
    ({"eyes_width": 64}, "eyes_width", "below the minimum 128"),
    ({"upscaler": 4}, "upscaler", "expected text"),
    ({"colour_match": "yes"}, "colour_match", "true or false"),
])
def test_bad_quality_values_name_the_field(values, field, words) -> None:
    with pytest.raises(SettingsError) as caught:
        FacePopSettings.from_dict(values)
    assert caught.value.field == field and words in str(caught.value)


def test_eyes_size_stays_a_multiple_of_eight() -> None:
    for width in (128, 200, 520, 2048):
        w, h = FacePopSettings(eyes_width=width).eyes_size
        assert w % 16 == 0 and h % 8 == 0 and h * 2 == w and w <= width
