"""Settings and values from the command line's arguments and the files they name: the
settings a run uses (defaults, --settings file, flags), --api-fields, the pixel limit."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from lib_facepop.cli.errors import UsageError
from lib_facepop.settings import FacePopSettings, option_spec, option_specs

log = logging.getLogger("lib_facepop")

# Settings the command line does not offer: "enabled" and the WebUI-only ones (the output
# folder is --out; always-on scripts exist only inside the WebUI). "debug" is --debug.
NOT_ON_COMMAND_LINE = ("enabled", "debug", "output_folder", "face_pass_scripts")
WEBUI_ONLY = ("output_folder", "face_pass_scripts")
# Defaults the command line uses instead of the panel's (standalone, FacePop is always on
# and the face pass has no main job of the user's to inherit from).
COMMAND_LINE_DEFAULTS = {"enabled": True, "separate_face_processing": True,
                          "save_faces": False}


def settings_from_args(args: argparse.Namespace) -> FacePopSettings:
    values: dict[str, Any] = dict(COMMAND_LINE_DEFAULTS)
    settings_file = getattr(args, "settings", None)
    if settings_file is not None:
        values.update(_settings_file(Path(settings_file)))
    for spec in option_specs():
        if spec.name in vars(args):
            values[spec.name] = getattr(args, spec.name)
    return FacePopSettings.from_dict(values)


def _settings_file(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: can't read settings ({exc})") from None
    if not isinstance(loaded, dict):
        raise UsageError(f"{path}: expected a JSON object of named settings")
    for name in WEBUI_ONLY:
        if name in loaded and loaded[name] != option_spec(name).default:
            log.warning("%s: %s only means something inside the WebUI; ignored here", path,
                        name)
    return {k: v for k, v in loaded.items() if k not in (*WEBUI_ONLY, "enabled")}


def api_fields(text: str | None) -> dict[str, Any]:
    """--api-fields: JSON text, or the name of a file holding it."""
    if text is None:
        return {}
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as exc:
        if not Path(text).is_file():
            raise UsageError(f"--api-fields: neither JSON ({exc}) nor a file") from None
        try:
            loaded = json.loads(Path(text).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as file_exc:
            raise UsageError(f"--api-fields {text}: can't read it ({file_exc})") from None
    if not isinstance(loaded, dict):
        raise UsageError("--api-fields: expected a JSON object of img2img API fields")
    return loaded


def max_pixels(args: argparse.Namespace) -> int | None:
    megapixels = getattr(args, "max_megapixels", 0.0)  # the demo's scene has no limit
    return int(megapixels * 1_000_000) if megapixels > 0 else None
