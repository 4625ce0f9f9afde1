"""The settings reference, docs/settings.md, written from the settings model.

Run ``python -m lib_facepop.settings_doc > docs/settings.md`` after changing a setting;
tests/test_settings_doc.py fails while the page and the model disagree. Everything on the
page comes from where the program itself reads it: names, labels, groups, types, ranges,
defaults, choices, help and infotext keys from ``lib_facepop.settings``; the command-line
flags and their defaults from the command line's own parser (``lib_facepop.cli.flags``); the
X/Y/Z plot axes from ``lib_facepop.xyz_axes``. Nothing here imports the WebUI or gradio.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping

from lib_facepop.cli.arguments import settings_from_args
from lib_facepop.cli.flags import build_parser
from lib_facepop.settings import GROUPS, FacePopSettings, OptionSpec, Value, option_specs
from lib_facepop.xyz_axes import axes_of

COMMAND = "python -m lib_facepop.settings_doc > docs/settings.md"
SUBCOMMANDS = ("run", "demo", "detect")
"""The commands whose setting flags the page names, in this order."""

_INTRO = """\
One typed model (`lib_facepop/settings/model.py`) defines every option: the WebUI panel is built
from it in this order, the positional API args follow this order, and the JSON schema and
the infotext keys (`FacePop <name with spaces>`) are generated from it. Unknown names and
out-of-range values are rejected with a message that names the setting. Settings with
choices show readable labels in the panel ("Left to right"); the API, the infotext and the
command line take the values (`left_to_right`), and the schema route lists both (`enum`,
`x-choice-labels`).

The settings from `face_restoration` on came after the first release: they come last in
the positional order, so positional args written before them keep their meaning; the
panel shows them in their own accordions ("Restore and upscale", "Eyes").

How each surface takes them: the panel ([webui.md](webui.md)), the API's named object or
positional list ([api.md](api.md)), the command line's flags and `--settings FILE`
([cli.md](cli.md#settings-on-the-command-line)), the X/Y/Z plot's axes
([webui.md](webui.md#xyz-plot)), and the infotext ([webui.md](webui.md#infotext)).
"""

_TYPE_WORDS = {bool: "on/off", int: "whole number", float: "number", str: "text"}


def render() -> str:
    """The whole page, as docs/settings.md holds it."""
    specs = option_specs()
    flags = setting_flags()
    cli_defaults = command_line_defaults()
    lines = [
        "# Settings reference",
        "",
        f"<!-- Generated from the settings model by `{COMMAND}`; do not edit by hand. -->",
        "",
        _INTRO,
        "| # | setting | panel label | group | type | default | command line | X/Y/Z axis |",
        "|---:|---|---|---|---|---|---|---|",
    ]
    for position, spec in enumerate(specs):
        lines.append("| " + " | ".join((
            str(position), f"[`{spec.name}`](#{spec.name})", _cell(spec.label), spec.group,
            _type_word(spec), _code(_json(spec.default)),
            _code(flags[spec.name][0]) if spec.name in flags else "-",
            "yes" if axes_of(spec.name) else "-",
        )) + " |")
    lines.append("")
    for group in GROUPS:
        lines += [f"## {group.capitalize()}", ""]
        for position, spec in enumerate(specs):
            if spec.group == group:
                lines += _setting_section(spec, position, flags, cli_defaults)
    return "\n".join(lines).rstrip("\n") + "\n"


def setting_flags() -> dict[str, tuple[str, ...]]:
    """{setting name: its flags}, read from the command line's parser (``run`` first)."""
    flags: dict[str, tuple[str, ...]] = {}
    for command in SUBCOMMANDS:
        for action in _subparser(command)._actions:
            if action.option_strings and action.dest not in flags:
                flags[action.dest] = tuple(action.option_strings)
    names = {spec.name for spec in option_specs()}
    return {name: flag for name, flag in flags.items() if name in names}


def commands_with_flag(name: str) -> tuple[str, ...]:
    """The commands (of ``SUBCOMMANDS``) that offer a flag for setting ``name``."""
    return tuple(command for command in SUBCOMMANDS
                 if any(action.dest == name and action.option_strings
                        for action in _subparser(command)._actions))


def command_line_defaults() -> FacePopSettings:
    """The settings of a ``run`` given no setting flags: what the command line uses."""
    args = build_parser().parse_args(["run", "IMAGE", "--out", "DIR"])
    return settings_from_args(args)


def _subparser(command: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[command]
    raise LookupError("the command line has no subcommands")


def _setting_section(spec: OptionSpec, position: int, flags: Mapping[str, tuple[str, ...]],
                     cli_defaults: FacePopSettings) -> list[str]:
    lines = [f"### `{spec.name}`", "", f"**{spec.label}**: {spec.help}", ""]
    lines.append(f"- type: {_type_word(spec)}{_range(spec)}")
    lines.append(f"- default: {_code(_json(spec.default))}")
    if spec.choices is not None:
        lines.append("- choices: " + ", ".join(
            f"{_code(choice)} ({label})" for choice, label in _choice_labels(spec)))
    if spec.pattern_meaning is not None:
        lines.append(f"- must be: {spec.pattern_meaning}")
    lines.append(f"- infotext: {_code(spec.infotext_key)}")
    lines.append(f"- command line: {_flag_text(spec, flags, cli_defaults)}")
    axes = axes_of(spec.name)
    if axes:
        lines.append("- X/Y/Z plot: " + ", ".join(_code(axis.label) for axis in axes))
    lines.append(f"- API: `\"{spec.name}\"`, position {position}")
    lines.append("")
    return lines


def _flag_text(spec: OptionSpec, flags: Mapping[str, tuple[str, ...]],
               cli_defaults: FacePopSettings) -> str:
    own = getattr(cli_defaults, spec.name)
    differs = own != spec.default
    if spec.name not in flags:
        return "no flag" + (f" (always {_code(_json(own))} there)" if differs else "")
    text = " / ".join(_code(flag) for flag in flags[spec.name])
    text += f" ({', '.join(commands_with_flag(spec.name))})"
    if differs:
        text += f"; default on the command line {_code(_json(own))}"
    return text


def _choice_labels(spec: OptionSpec) -> Iterable[tuple[str, str]]:
    return zip(spec.choices or (), spec.choice_labels or spec.choices or (), strict=True)


def _type_word(spec: OptionSpec) -> str:
    if spec.choices is not None:
        return "choice"
    return "text, several lines" if spec.multiline else _TYPE_WORDS[spec.kind]


def _range(spec: OptionSpec) -> str:
    if spec.minimum is None and spec.maximum is None:
        return ""
    text = f", {_number(spec.minimum)} to {_number(spec.maximum)}"
    if spec.step is not None:
        text += f" in steps of {_number(spec.step)} in the panel"
    return text


def _number(value: float | None) -> str:
    if value is None:
        return "any"
    return str(int(value)) if float(value).is_integer() else str(value)


def _json(value: Value) -> str:
    return json.dumps(value)


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text else f"`` {text} ``"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def main() -> int:
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
