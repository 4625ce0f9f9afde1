"""docs/settings.md is the settings model written out: it matches what the generator makes
from the model now, and what it says of each setting is what the program does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lib_facepop.cli import build_parser, settings_from_args
from lib_facepop.settings import option_specs
from lib_facepop.settings_doc import COMMAND, render, setting_flags
from lib_facepop.xyz_axes import AXES

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "settings.md"


def test_the_page_is_what_the_settings_model_makes() -> None:
    assert PAGE.read_text() == render(), (
        f"docs/settings.md differs from the settings model; run: {COMMAND}")


def test_every_setting_has_its_entry_with_infotext_key() -> None:
    page = PAGE.read_text()
    missing = [spec.name for spec in option_specs()
               if f"### `{spec.name}`" not in page or f"`{spec.infotext_key}`" not in page]
    assert missing == []


def test_every_axis_is_named() -> None:
    page = PAGE.read_text()
    assert [axis.label for axis in AXES if f"`{axis.label}`" not in page] == []


def test_the_flags_are_the_command_lines_own() -> None:
    flags = setting_flags()
    assert flags["mask_source"] == ("--mask",)
    assert flags["auto_align"] == ("--auto-align", "--no-auto-align")
    assert flags["debug"] == ("--debug", "--no-debug")
    # WebUI-only settings have none
    assert {"enabled", "output_folder", "face_pass_scripts",
            "face_distilled_cfg_scale"}.isdisjoint(flags)


@pytest.mark.parametrize("spec", [spec for spec in option_specs()
                                  if spec.name in setting_flags()],
                         ids=lambda spec: spec.name)
def test_each_flag_named_sets_its_setting(spec) -> None:
    flags = setting_flags()[spec.name]
    value = _other_value(spec)
    argv = [flags[0] if value else flags[1]] if spec.kind is bool else [flags[0], str(value)]
    args = build_parser().parse_args(["run", "IMAGE", "--out", "DIR", *argv])
    assert getattr(settings_from_args(args), spec.name) == value


def _other_value(spec):
    """A valid value of the setting that is not its default."""
    if spec.kind is bool:
        return not spec.default
    if spec.choices is not None:
        return next(choice for choice in spec.choices if choice != spec.default)
    if spec.kind in (int, float):
        return spec.kind(spec.maximum)
    if spec.pattern is not None:
        return "1"
    return "other"


def test_the_command_line_defaults_named_are_a_runs_own() -> None:
    page = PAGE.read_text()
    run = settings_from_args(build_parser().parse_args(["run", "IMAGE", "--out", "DIR"]))
    differing = {spec.name: json.dumps(getattr(run, spec.name)) for spec in option_specs()
                 if getattr(run, spec.name) != spec.default}
    assert "save_faces" in differing  # the command line has defaults of its own
    for name, value in differing.items():
        entry = page.split(f"### `{name}`", 1)[1].split("\n### ", 1)[0]
        assert (f"default on the command line `{value}`" in entry
                or f"always `{value}` there" in entry), name
