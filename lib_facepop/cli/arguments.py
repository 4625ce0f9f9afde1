"""Settings and values from the command line's arguments and the files they name: the
settings a run uses (defaults, --settings file or JSON, flags), --api-fields, the pixel
limit. A file that can't be read, is not UTF-8 or not JSON is one line naming the flag and
the file (with the offset of the first byte that is not UTF-8)."""

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
# folder is --out; always-on scripts exist only inside the WebUI; the face pass on a
# server sends A1111's API fields only, which have no distilled CFG). "debug" is --debug.
WEBUI_ONLY = ("output_folder", "face_pass_scripts", "face_distilled_cfg_scale")
NOT_ON_COMMAND_LINE = ("enabled", "debug", *WEBUI_ONLY)
# Defaults the command line uses instead of the panel's (standalone, FacePop is always on
# and the face pass has no main job of the user's to inherit from).
COMMAND_LINE_DEFAULTS = {"enabled": True, "separate_face_processing": True,
                          "save_faces": False}


def settings_from_args(args: argparse.Namespace) -> FacePopSettings:
    values: dict[str, Any] = dict(COMMAND_LINE_DEFAULTS)
    given = getattr(args, "settings", None)
    if given is not None:
        values.update(_settings_given(str(given)))
    for spec in option_specs():
        if spec.name in vars(args):
            values[spec.name] = getattr(args, spec.name)
    return FacePopSettings.from_dict(values)


def _settings_given(text: str) -> dict[str, Any]:
    """--settings: a JSON object of named settings (a value starting with ``{``), or the
    name of a file holding one."""
    if text.lstrip().startswith("{"):
        where = "--settings"
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--settings: not valid JSON ({exc}); give a JSON object of "
                             f"named settings, or a file holding one") from None
    else:
        where = f"--settings {text}"
        loaded = json_file(Path(text), where)
    if not isinstance(loaded, dict):
        raise UsageError(f"{where}: expected a JSON object of named settings")
    for name in WEBUI_ONLY:
        if name in loaded and loaded[name] != option_spec(name).default:
            log.warning("%s: %s only means something inside the WebUI; ignored here", where,
                        name)
    return {k: v for k, v in loaded.items() if k not in (*WEBUI_ONLY, "enabled")}


def json_file(path: Path, where: str) -> Any:
    """The JSON in a UTF-8 file (with or without a byte order mark); UsageError naming
    ``where`` (the flag and the file) and what is wrong."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{where}: can't read it ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{where}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                         f"{exc.start}); save it as UTF-8") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where}: not valid JSON ({exc})") from None


def api_fields(text: str | None) -> dict[str, Any]:
    """--api-fields: JSON text, or the name of a file holding it."""
    if text is None:
        return {}
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as exc:
        if not Path(text).is_file():
            raise UsageError(f"--api-fields: neither JSON ({exc}) nor a file") from None
        loaded = json_file(Path(text), f"--api-fields {text}")
    if not isinstance(loaded, dict):
        raise UsageError("--api-fields: expected a JSON object of img2img API fields")
    return loaded


def max_pixels(args: argparse.Namespace) -> int | None:
    megapixels = getattr(args, "max_megapixels", 0.0)  # the demo's scene has no limit
    return int(megapixels * 1_000_000) if megapixels > 0 else None
