"""The command line: ``python -m lib_facepop {detect,run,demo,schema,check}``.

Contract (docs/design.md section 3.1): ``detect IMAGE... --json`` prints one JSON object
per image per line, in the order given; ``run IMAGE... --out DIR`` writes DIR/<stem>.png
per input. Exit status: 0 when every image was done (or skipped), 1 when any failed, 2 for
a usage error found before any work (bad settings or flags, an output folder that can't be
written, a server that refuses the credentials, an upscaler no server has), 130 when
interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from lib_facepop import __version__
from lib_facepop.errors import FacePopError, SettingsError
from lib_facepop.settings import FacePopSettings, OptionSpec, json_schema, option_specs
from lib_facepop.stderr_filter import stderr_without

if TYPE_CHECKING:  # the commands import what they need when they run (fast --help)
    from lib_facepop.api_client import Credentials, WebUIServer
    from lib_facepop.api_client.extras import ServerOffer
    from lib_facepop.api_client.face_pass import ServerJob
    from lib_facepop.batch.inputs import InputImage
    from lib_facepop.batch.progress import Tally
    from lib_facepop.batch.runner import BatchOptions, BatchRunner, Reader

log = logging.getLogger("lib_facepop")

# Settings the command line does not offer: "enabled" and the WebUI-only ones (the output
# folder is --out; always-on scripts exist only inside the WebUI). "debug" is --debug.
_NOT_ON_COMMAND_LINE = ("enabled", "debug", "output_folder", "face_pass_scripts")
_WEBUI_ONLY = ("output_folder", "face_pass_scripts")
# Defaults the command line uses instead of the panel's (standalone, FacePop is always on
# and the face pass has no main job of the user's to inherit from).
_COMMAND_LINE_DEFAULTS = {"enabled": True, "separate_face_processing": True,
                          "save_faces": False}
DEFAULT_DEMO_OUT = "facepop-demo"
DEFAULT_MAX_MEGAPIXELS = 100.0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CommandError(Exception):
    """A failure the command reports in one line and exits with status 1 for."""


class UsageError(CommandError):
    """A flag, input or output folder that can't work as given: status 2, before any work."""


def main(argv: Sequence[str] | None = None) -> int:
    _quiet_native_logs()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="facepop: %(message)s")
    try:
        with stderr_without(), _own_pixel_limit():
            return args.handler(args)
    except (UsageError, SettingsError) as exc:
        print(f"facepop: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (CommandError, FacePopError) as exc:
        print(f"facepop: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("facepop: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _quiet_native_logs() -> None:
    """MediaPipe's C++ side logs to stderr at start-up; keep stderr for FacePop's messages
    (what still gets through, stderr_without drops)."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextlib.contextmanager
def _own_pixel_limit() -> Iterator[None]:
    """Pillow's decompression-bomb limit off while a command runs: --max-megapixels is
    the one limit, checked before pixels are decoded, with a message naming the flag."""
    from PIL import Image

    before = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = before


# --- parser -------------------------------------------------------------------------------

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
    detect.set_defaults(handler=_cmd_detect)

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
    run.set_defaults(handler=_cmd_run)

    demo = commands.add_parser(
        "demo", help="run FacePop on a built-in photo",
        description="Build a scene from a photo scikit-image ships (the same face at several "
                    "sizes and tilts), run the pipeline and write the result and its "
                    "debugging folder.")
    demo.add_argument("--out", type=Path, default=Path(DEFAULT_DEMO_OUT), metavar="DIR",
                      help=f"folder for the results (default: {DEFAULT_DEMO_OUT})")
    _add_pipeline_options(demo, default_processor="stylize")
    demo.set_defaults(handler=_cmd_demo, debug=True)

    schema = commands.add_parser("schema", help="print the JSON schema of the settings")
    _add_common(schema)
    schema.set_defaults(handler=_cmd_schema)

    check = commands.add_parser("check", help="check that MediaPipe really detects faces")
    _add_common(check)
    check.set_defaults(handler=_cmd_check)
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
        spec = _spec(name)
        group.add_argument(flag, type=_in_range(spec), default=spec.default,
                           help=f"main pass {flag[2:].replace('-', ' ')} (default: "
                                f"{spec.default})")
    group.add_argument("--sampler", metavar="NAME",
                       help="sampler of both passes (default: the server's)")
    group.add_argument("--scheduler", metavar="NAME",
                       help="scheduler of both passes (default: the server's)")


def option_spec_choices(name: str) -> tuple[str, ...]:
    return _spec(name).choices or ()


def _spec(name: str) -> OptionSpec:
    return next(s for s in option_specs() if s.name == name)


def _add_settings(parser: argparse.ArgumentParser, names: Iterable[str] | None = None,
                  exclude: Iterable[str] = ()) -> None:
    """One flag per setting, generated from the settings model."""
    group = parser.add_argument_group("settings (defaults as in the WebUI panel)")
    group.add_argument("--settings", type=Path, metavar="JSON",
                       help="a JSON file of named settings (flags override it)")
    wanted = set(names) if names is not None else None
    for spec in option_specs():
        if spec.name in _NOT_ON_COMMAND_LINE or spec.name in exclude:
            continue
        if wanted is not None and spec.name not in wanted:
            continue
        _add_setting_flag(group, spec)


def _add_setting_flag(group: Any, spec: OptionSpec) -> None:
    flag = "--" + spec.name.replace("_", "-")
    default = _COMMAND_LINE_DEFAULTS.get(spec.name, spec.default)
    text = f"{spec.help} (default: {default})".replace("%", "%%")
    if spec.kind is bool:
        group.add_argument(flag, dest=spec.name, action=argparse.BooleanOptionalAction,
                           default=argparse.SUPPRESS, help=text)
    else:
        group.add_argument(flag, dest=spec.name, type=spec.kind, choices=spec.choices,
                           default=argparse.SUPPRESS, help=text)


def _number(minimum: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not value >= minimum or value != value or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{text} is below the minimum {minimum:g}")
        return value
    return parse


def _whole(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}"
                                             ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text} is below the minimum {minimum}")
        return value
    return parse


def _in_range(spec: OptionSpec) -> Callable[[str], Any]:
    """A flag's value checked against a setting's type and range (main pass flags share
    the face pass settings' ranges)."""
    def parse(text: str) -> Any:
        try:
            value = spec.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        try:
            FacePopSettings.from_dict({spec.name: value})
        except SettingsError as exc:
            raise argparse.ArgumentTypeError(exc.reason) from None
        return value
    return parse


def settings_from_args(args: argparse.Namespace) -> FacePopSettings:
    values: dict[str, Any] = dict(_COMMAND_LINE_DEFAULTS)
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
    for name in _WEBUI_ONLY:
        if name in loaded and loaded[name] != _spec(name).default:
            log.warning("%s: %s only means something inside the WebUI; ignored here", path,
                        name)
    return {k: v for k, v in loaded.items() if k not in (*_WEBUI_ONLY, "enabled")}


# --- commands -----------------------------------------------------------------------------

def _cmd_detect(args: argparse.Namespace) -> int:
    from lib_facepop.batch.inputs import expand_inputs
    from lib_facepop.debug import face_records
    from lib_facepop.detect import DetectionOptions, create_detector, select_faces
    from lib_facepop.images import read_image

    settings = settings_from_args(args)
    found = expand_inputs(args.images, recursive=args.recursive)
    failures = [f"{given}: {reason}" for given, reason in found.missing]
    detector = create_detector(settings)
    options = DetectionOptions.from_settings(settings)
    every_face = DetectionOptions(confidence=options.confidence,
                                  min_face_size=options.min_face_size, order=options.order)
    for item in _progress(found.images, "detect"):
        try:
            image = read_image(item.path, _max_pixels(args), "--max-megapixels").rgb
        except FacePopError as exc:
            failures.append(str(exc))
            continue
        detected = detector.detect(image, options)
        eligible = select_faces(detected, every_face)
        too_small = [face for face in detected if face not in eligible]
        processed = eligible[:options.max_faces] if options.max_faces > 0 else eligible
        record = {"image": item.shown, "width": int(image.shape[1]),
                  "height": int(image.shape[0]),
                  "faces": face_records([*eligible, *too_small], processed)}
        print(json.dumps(record) if args.json else _describe(record), flush=True)
    for message in failures:
        print(f"facepop: {message}", file=sys.stderr)
    return EXIT_ERROR if failures else 0


def _describe(record: dict) -> str:
    faces = record["faces"]
    processed = sum(1 for face in faces if face["processed"])
    lines = [f"{record['image']}: {record['width']}x{record['height']}, "
             f"{len(faces)} face(s), {processed} to process"]
    for face in faces:
        x0, y0, x1, y1 = face["box"]
        label = f"#{face['index']}" if face["processed"] else "skip"
        lines.append(f"  {label} box ({x0:.0f}, {y0:.0f})-({x1:.0f}, {y1:.0f}) "
                     f"score {face['score']:.2f} roll {face['roll']:+.1f}")
    return "\n".join(lines)


def _cmd_run(args: argparse.Namespace) -> int:
    from lib_facepop.batch.inputs import InputClashError, expand_inputs, refuse_clashes

    plan = _plan(args, overwrite=args.overwrite)
    out = os.path.realpath(args.out)
    for spec in args.images:
        if Path(spec).is_dir() and os.path.realpath(spec) == out:
            raise UsageError(f"--out {args.out} is also an input folder; give the results "
                             f"a folder of their own")
    found = expand_inputs(args.images, recursive=args.recursive, exclude=args.out)
    try:
        refuse_clashes(found.images)
    except InputClashError as exc:
        raise UsageError(str(exc)) from None
    for image in found.images:
        if os.path.realpath(image.path) == os.path.realpath(plan.out.target(image)):
            raise UsageError(f"{image.shown}: its result would replace it; give the results "
                             f"another folder than --out {args.out}")
    _, tally = _execute(args, plan, found.images, found.missing)
    return EXIT_ERROR if tally.failures else 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from lib_facepop.batch.inputs import InputImage
    from lib_facepop.demo import demo_scene
    from lib_facepop.images import LoadedImage

    plan = _plan(args, overwrite=True)

    def scene(_: InputImage) -> LoadedImage:
        image = demo_scene()
        return LoadedImage(rgb=image, colour=image, alpha=None)

    item = InputImage(Path("demo"), "demo", PurePath("demo"))
    runner, tally = _execute(args, plan, [item], (), reader=scene)
    if tally.failures:
        return EXIT_ERROR
    print(f"wrote {plan.out.target(item)}", flush=True)
    for folder in runner.debug_folders:
        print(f"debugging folder: {folder} (see contact-sheet.png)", flush=True)
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2))
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from lib_facepop.detect.graph_check import check_mediapipe

    print(check_mediapipe())
    return 0


# --- run and demo -------------------------------------------------------------------------

def _plan(args: argparse.Namespace, *, overwrite: bool) -> BatchOptions:
    """Everything a run needs, checked before any work: settings, flags, the output
    folder. UsageError names what is wrong."""
    from lib_facepop.api_client.server import normalized_url
    from lib_facepop.batch.outputs import OutputFolder, OutputFolderError
    from lib_facepop.batch.runner import BatchOptions
    from lib_facepop.standalone import ModelPathError, check_model_paths

    settings = settings_from_args(args)
    if args.modnet is not None:
        if "mask_source" in vars(args) and args.mask_source not in ("modnet", "auto"):
            raise UsageError(f"--modnet asks for MODNet masks, --mask {args.mask_source} "
                             f"for others; give one of them")
        settings = settings.replace(mask_source="modnet")
    try:
        check_model_paths(args.modnet, args.models_dir)
    except ModelPathError as exc:
        raise UsageError(str(exc)) from None
    for url in args.server:
        try:
            normalized_url(url)
        except ValueError as exc:
            raise UsageError(f"--server {url}: {exc}") from None
    if args.server and args.processor is not None:
        raise UsageError("--processor is for runs without a server; the faces go to --server")
    if args.main_pass and not args.server:
        raise UsageError("--main-pass runs on a WebUI server; give --server URL")
    if args.api_auth is not None:
        _credentials(args.api_auth)
    out = OutputFolder(args.out, overwrite=overwrite)
    try:
        out.prepare()
    except OutputFolderError as exc:
        raise UsageError(f"--out {exc}") from None
    return BatchOptions(settings=settings, out=out, prompt=args.prompt,
                        negative_prompt=args.negative_prompt, seed=args.seed,
                        server_job=_server_job(args), main_pass=args.main_pass,
                        face_batch=args.face_batch, max_pixels=_max_pixels(args))


def _execute(args: argparse.Namespace, plan: BatchOptions, images: Sequence[InputImage],
             missing: Sequence[tuple[str, str]], reader: Reader | None = None
             ) -> tuple[BatchRunner, Tally]:
    from lib_facepop.batch.progress import Progress
    from lib_facepop.batch.runner import BatchRunner
    from lib_facepop.batch.server_tools import (
        UnknownUpscalerError,
        asker,
        check_upscaler,
        needs_server_tools,
    )
    from lib_facepop.batch.servers import NoServerError, ServerSetupError, probe_servers
    from lib_facepop.standalone import build_parts, local_processor

    progress = Progress(len(images) + len(missing), sys.stderr,
                        interval=args.progress_interval)
    servers = _servers(args)
    offers: dict[str, ServerOffer] = {}
    if servers:
        ask = asker(offers) if needs_server_tools(plan.settings) else None
        try:
            servers = probe_servers(servers, progress, ask)
            check_upscaler(plan.settings, offers)
        except (ServerSetupError, UnknownUpscalerError) as exc:
            raise UsageError(str(exc)) from None
        except NoServerError as exc:
            raise CommandError(str(exc)) from None
    detector, mask_source = build_parts(plan.settings, modnet=args.modnet,
                                        models_dir=args.models_dir)
    local = local_processor(args.processor or args.default_processor)
    runner = BatchRunner(plan, detector, mask_source, progress, servers=servers, local=local,
                         reader=reader, offers=offers)
    return runner, runner.run(images, missing)


def _servers(args: argparse.Namespace) -> list[WebUIServer]:
    from lib_facepop.api_client import RetryPolicy, WebUIServer

    credentials = _credentials(args.api_auth) if args.api_auth is not None else None
    retry = RetryPolicy(retries=args.retries, first_delay=args.retry_delay)
    unique = list(dict.fromkeys(args.server))
    return [WebUIServer(url, credentials=credentials, timeout=args.timeout, retry=retry)
            for url in unique]


def _credentials(text: str) -> Credentials:
    from lib_facepop.api_client import parse_credentials

    try:
        return parse_credentials(text)
    except ValueError as exc:
        raise UsageError(f"--api-auth: {exc}") from None


def _server_job(args: argparse.Namespace) -> ServerJob:
    from lib_facepop.api_client.face_pass import ServerJob

    return ServerJob(steps=args.steps, cfg_scale=args.cfg_scale,
                     denoising_strength=args.denoising_strength, sampler_name=args.sampler,
                     scheduler=args.scheduler, extra=_api_fields(args.api_fields))


def _api_fields(text: str | None) -> dict[str, Any]:
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


def _max_pixels(args: argparse.Namespace) -> int | None:
    megapixels = getattr(args, "max_megapixels", 0.0)  # the demo's scene has no limit
    return int(megapixels * 1_000_000) if megapixels > 0 else None


def _progress(items: Sequence[Any], what: str) -> Iterable[Any]:
    if len(items) < 2:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=f"facepop {what}", unit="image", file=sys.stderr,
                disable=None, leave=False)
