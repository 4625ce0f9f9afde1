"""The command line's parser: its commands and their flags, one flag per setting generated
from the settings model, and the checks of each flag's value."""

from __future__ import annotations

import argparse
import functools
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from lib_facepop import __version__
from lib_facepop.cli.arguments import COMMAND_LINE_DEFAULTS, NOT_ON_COMMAND_LINE
from lib_facepop.errors import SettingsError
from lib_facepop.settings import FacePopSettings, OptionSpec, option_spec, option_specs

DEFAULT_DEMO_OUT = "facepop-demo"
DEFAULT_MAX_MEGAPIXELS = 100.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facepop",
        description="FacePop: find every face, process it upright at full size, blend it "
                    "back.")
    parser.add_argument("--version", action="version", version=f"FacePop {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    detect = commands.add_parser(
        "detect", help="find faces and print them",
        description="Find every face; print one result per image. Faces are listed in "
                    "the order a run processes them; max_faces and face_order mark which "
                    "it would process.")
    _add_inputs(detect)
    detect.add_argument("--json", action="store_true",
                        help="print JSON Lines (one object per image)")
    _add_common(detect)
    _add_settings(detect, names=("aggressive_detection", "confidence", "max_faces",
                                 "min_face_size", "face_order"))

    run = commands.add_parser(
        "run", help="run the whole pipeline on images",
        description="Run FacePop on each IMAGE (files, folders, quoted glob patterns); write "
                    "DIR/<name>.png. Images whose result exists are skipped (resume).")
    _add_inputs(run)
    run.add_argument("--out", required=True, type=Path, metavar="DIR",
                     help="folder for the results (made if missing)")
    run.add_argument("--overwrite", action="store_true",
                     help="process images whose result exists again (default: skip them)")
    _add_pipeline_options(run, default_processor="none")

    demo = commands.add_parser(
        "demo", help="run FacePop on a built-in photo",
        description="Build a scene from a photo scikit-image ships (the same face at several "
                    "sizes and tilts), run the pipeline and write the result and its "
                    "debugging folder.")
    demo.add_argument("--out", type=Path, default=Path(DEFAULT_DEMO_OUT), metavar="DIR",
                      help=f"folder for the results (default: {DEFAULT_DEMO_OUT})")
    _add_pipeline_options(demo, default_processor="stylize")
    demo.set_defaults(debug=True)

    schema = commands.add_parser("schema", help="print the JSON schema of the settings")
    _add_common(schema)

    check = commands.add_parser("check", help="check that MediaPipe really detects faces")
    _add_common(check)
    return parser


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")


def _add_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="+", metavar="IMAGE",
                        help="image files, folders, or glob patterns in quotes "
                             "('renders/**/*.png')")
    parser.add_argument("-r", "--recursive", action="store_true",
                        help="also take the images in subfolders of a folder given")
    parser.add_argument("--max-megapixels", type=_number(0.0), default=DEFAULT_MAX_MEGAPIXELS,
                        metavar="MP",
                        help="refuse images larger than this (default: "
                             f"{DEFAULT_MAX_MEGAPIXELS:g}; 0 = no limit)")


def _add_pipeline_options(parser: argparse.ArgumentParser, default_processor: str) -> None:
    _add_common(parser)
    parser.add_argument("--debug", action=argparse.BooleanOptionalAction, default=False,
                        help="also write a debugging folder per image under DIR/debug")
    parser.add_argument("--processor", choices=("none", "stylize"), default=None,
                        help="what to do with the faces without a server: 'none' returns "
                             "them unchanged, 'stylize' paints them (default: "
                             f"{default_processor})")
    parser.set_defaults(default_processor=default_processor)
    parser.add_argument("--progress-interval", type=_number(0.0), default=30.0,
                        metavar="SECONDS",
                        help="when stderr is not a terminal, a progress line this often "
                             "(default: 30)")
    _add_server_options(parser)
    _add_main_job_options(parser)
    masks = parser.add_argument_group("face masks")
    masks.add_argument("--mask", dest="mask_source", default=argparse.SUPPRESS,
                       choices=option_spec_choices("mask_source"),
                       help="where face masks come from (default: auto = MODNet when its "
                            "model file is installed, else selfie segmentation)")
    masks.add_argument("--modnet", type=Path, metavar="PATH",
                       help="MODNet model file (.onnx or the official .ckpt); implies "
                            "--mask modnet")
    masks.add_argument("--models-dir", type=Path, metavar="DIR",
                       help="folder with FacePop's model files (default: "
                            "$FACEPOP_MODELS_DIR or ~/.cache/facepop/models)")
    _add_settings(parser, exclude=("mask_source",))


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    from lib_facepop.api_client.face_pass import DEFAULT_FACE_BATCH

    group = parser.add_argument_group(
        "WebUI servers", "Process the faces (and with --main-pass the whole image) on "
                         "running WebUI servers started with --api; several --server share "
                         "the images as a work queue.")
    group.add_argument("--server", action="append", default=[], metavar="URL",
                       help="a WebUI server, e.g. http://127.0.0.1:7860 (may be given "
                            "several times)")
    group.add_argument("--api-auth", metavar="USER:PASS",
                       help="credentials of servers started with --api-auth")
    group.add_argument("--main-pass", action="store_true",
                       help="also run the main img2img pass on the server: the whole image "
                            "with the faces protected by a mask, as the extension does")
    group.add_argument("--face-batch", type=_whole(1), default=DEFAULT_FACE_BATCH,
                       metavar="N",
                       help=f"faces in one request at most (default: {DEFAULT_FACE_BATCH})")
    group.add_argument("--timeout", type=_number(0.001), default=600.0, metavar="SECONDS",
                       help="seconds to wait for an answer per request (default: 600)")
    group.add_argument("--retries", type=_whole(0), default=3, metavar="N",
                       help="tries more when a server does not answer, times out or fails "
                            "with HTTP 5xx (default: 3)")
    group.add_argument("--retry-delay", type=_number(0.0), default=2.0, metavar="SECONDS",
                       help="wait before the first retry, doubled for each next one "
                            "(default: 2)")
    group.add_argument("--api-fields", metavar="JSON",
                       help="more img2img API fields for every request: a JSON object or a "
                            "file holding one, e.g. '{\"override_settings\": "
                            "{\"sd_model_checkpoint\": \"...\"}}'")


def _add_main_job_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "main job", "The main pass's values (--main-pass). The face pass uses the --face-* "
                    "settings; it takes --prompt and --negative-prompt where --face-prompt "
                    "and --face-negative-prompt are blank, and all of these with "
                    "--no-separate-face-processing.")
    group.add_argument("--prompt", default="", help="main prompt")
    group.add_argument("--negative-prompt", default="", help="main negative prompt")
    group.add_argument("--seed", type=_whole(-1), default=-1,
                       help="main seed; face i gets seed + i (see --face-seed-mode); "
                            "-1 = random per image (default)")
    for name, flag in (("face_steps", "--steps"), ("face_cfg_scale", "--cfg-scale"),
                       ("face_denoising_strength", "--denoising-strength")):
        spec = option_spec(name)
        group.add_argument(flag, type=_in_range(spec), default=spec.default,
                           help=f"main pass {flag[2:].replace('-', ' ')} (default: "
                                f"{spec.default})")
    group.add_argument("--sampler", metavar="NAME",
                       help="sampler of both passes (default: the server's)")
    group.add_argument("--scheduler", metavar="NAME",
                       help="scheduler of both passes (default: the server's)")


def option_spec_choices(name: str) -> tuple[str, ...]:
    return option_spec(name).choices or ()


def _add_settings(parser: argparse.ArgumentParser, names: Iterable[str] | None = None,
                  exclude: Iterable[str] = ()) -> None:
    """One flag per setting, generated from the settings model."""
    group = parser.add_argument_group("settings (defaults as in the WebUI panel)")
    group.add_argument("--settings", metavar="FILE|JSON",
                       help="a JSON file of named settings, or the JSON itself "
                            "('{\"padding\": 20}'); flags override it")
    wanted = set(names) if names is not None else None
    for spec in option_specs():
        if spec.name in NOT_ON_COMMAND_LINE or spec.name in exclude:
            continue
        if wanted is not None and spec.name not in wanted:
            continue
        _add_setting_flag(group, spec)


def _add_setting_flag(group: Any, spec: OptionSpec) -> None:
    flag = "--" + spec.name.replace("_", "-")
    default = COMMAND_LINE_DEFAULTS.get(spec.name, spec.default)
    text = f"{spec.help} (default: {default})".replace("%", "%%")
    if spec.kind is bool:
        group.add_argument(flag, dest=spec.name, action=argparse.BooleanOptionalAction,
                           default=argparse.SUPPRESS, help=text)
    else:
        kind: Callable[[str], Any] = spec.kind
        if spec.kind in (int, float):
            kind = functools.partial(_parsed, whole=spec.kind is int)
        group.add_argument(flag, dest=spec.name, type=kind, choices=spec.choices,
                           default=argparse.SUPPRESS, help=text)


def _parsed(text: str, whole: bool) -> float:
    """A flag's number (an int where ``whole``); ArgumentTypeError says what is wrong with
    the text: not a number, not a finite one (inf, nan), not whole."""
    kind = "whole number" if whole else "number"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a {kind}, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text} is not a finite number")
    if not whole:
        return value
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a {kind}, got {text!r}") from None


def _number(minimum: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = _parsed(text, whole=False)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text} is below the minimum {minimum:g}")
        return value
    return parse


def _whole(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(_parsed(text, whole=True))
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text} is below the minimum {minimum}")
        return value
    return parse


def _in_range(spec: OptionSpec) -> Callable[[str], Any]:
    """A flag's value checked against a setting's type and range (main pass flags share
    the face pass settings' ranges)."""
    def parse(text: str) -> Any:
        value = _parsed(text, whole=spec.kind is int)
        try:
            FacePopSettings.from_dict({spec.name: value})
        except SettingsError as exc:
            raise argparse.ArgumentTypeError(exc.reason) from None
        return value
    return parse
