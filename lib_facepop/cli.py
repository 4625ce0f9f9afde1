"""The command line: ``python -m lib_facepop {detect,run,demo,schema,check}``.

Contract (docs/design.md section 3.1): ``detect IMAGE... --json`` prints one JSON object
per image per line, in the order given; ``run IMAGE... --out DIR`` writes DIR/<stem>.png
per input. Exit status 0 when every image was read, non-zero with a one-line message on
stderr otherwise.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from lib_facepop import __version__
from lib_facepop.errors import FacePopError, SettingsError
from lib_facepop.settings import FacePopSettings, OptionSpec, json_schema, option_specs

log = logging.getLogger("lib_facepop")

# Settings the command line does not offer, and the defaults it uses instead of the panel's
# (standalone, FacePop is always on and the face pass has no main job to inherit from).
# ("debug" is the --debug flag of run and demo.)
_NOT_ON_COMMAND_LINE = ("enabled", "debug")
_COMMAND_LINE_DEFAULTS = {"enabled": True, "separate_face_processing": True,
                          "save_faces": False}
DEFAULT_DEMO_OUT = "facepop-demo"
EXIT_ERROR = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """A failure the command reports in one line and exits non-zero for."""


def main(argv: Sequence[str] | None = None) -> int:
    _quiet_native_logs()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="facepop: %(message)s")
    try:
        return args.handler(args)
    except CommandError as exc:
        print(f"facepop: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except SettingsError as exc:
        print(f"facepop: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except FacePopError as exc:
        print(f"facepop: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("facepop: interrupted", file=sys.stderr)
        return 130


def _quiet_native_logs() -> None:
    """MediaPipe's C++ side logs to stderr at start-up; keep stderr for FacePop's messages."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# --- parser -------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facepop",
        description="FacePop: find every face, process it upright at full size, blend it "
                    "back.")
    parser.add_argument("--version", action="version", version=f"FacePop {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    detect = commands.add_parser("detect", help="find faces and print them",
                                 description="Find faces; print one result per image.")
    detect.add_argument("images", nargs="+", metavar="IMAGE")
    detect.add_argument("--json", action="store_true",
                        help="print JSON Lines (one object per image)")
    _add_common(detect)
    _add_settings(detect, names=("aggressive_detection", "confidence", "max_faces",
                                 "min_face_size", "face_order"))
    detect.set_defaults(handler=_cmd_detect)

    run = commands.add_parser("run", help="run the whole pipeline on images",
                              description="Run FacePop on each IMAGE; write DIR/<stem>.png.")
    run.add_argument("images", nargs="+", metavar="IMAGE")
    run.add_argument("--out", required=True, type=Path, metavar="DIR",
                     help="folder for the results")
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


def _add_pipeline_options(parser: argparse.ArgumentParser, default_processor: str) -> None:
    _add_common(parser)
    parser.add_argument("--debug", action=argparse.BooleanOptionalAction, default=False,
                        help="also write a debugging folder per image under DIR/debug")
    parser.add_argument("--processor", choices=("none", "stylize"), default=default_processor,
                        help="what to do with the faces without a server: 'none' returns "
                             "them unchanged, 'stylize' paints them (default: "
                             f"{default_processor})")
    parser.add_argument("--server", metavar="URL",
                        help="process faces on a running WebUI server (started with --api), "
                             "e.g. http://127.0.0.1:7860")
    parser.add_argument("--prompt", default="", help="prompt of the face pass")
    parser.add_argument("--negative-prompt", default="", help="negative prompt of the face "
                                                               "pass")
    parser.add_argument("--seed", type=int, default=-1, help="seed of the first face "
                                                             "(-1 = random)")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds to wait for the server per request")
    parser.add_argument("--modnet", type=Path, metavar="PATH",
                        help="MODNet model file (.onnx or the official .ckpt)")
    parser.add_argument("--models-dir", type=Path, metavar="DIR",
                        help="folder with FacePop's model files")
    parser.add_argument("--mask", dest="mask_source", default=argparse.SUPPRESS,
                        choices=option_spec_choices("mask_source"),
                        help="where face masks come from (default: modnet, falling back "
                             "to selfie, then ellipse)")
    _add_settings(parser, exclude=("mask_source",))


def option_spec_choices(name: str) -> tuple[str, ...]:
    spec = next(s for s in option_specs() if s.name == name)
    return spec.choices or ()


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


def settings_from_args(args: argparse.Namespace) -> FacePopSettings:
    values: dict[str, Any] = dict(_COMMAND_LINE_DEFAULTS)
    settings_file = getattr(args, "settings", None)
    if settings_file is not None:
        try:
            loaded = json.loads(Path(settings_file).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"{settings_file}: can't read settings ({exc})") from None
        if not isinstance(loaded, dict):
            raise CommandError(f"{settings_file}: expected a JSON object of named settings")
        values.update(loaded)
    for spec in option_specs():
        if spec.name in vars(args):
            values[spec.name] = getattr(args, spec.name)
    return FacePopSettings.from_dict(values)


# --- commands -----------------------------------------------------------------------------

def _cmd_detect(args: argparse.Namespace) -> int:
    from lib_facepop.detect import DetectionOptions, create_detector, select_faces

    settings = settings_from_args(args)
    detector = create_detector(settings)
    options = DetectionOptions.from_settings(settings)
    failures: list[str] = []
    for path, image in _readable(args.images, "detect", failures):
        faces = select_faces(detector.detect(image, options), options)
        record = {"image": path, "width": int(image.shape[1]), "height": int(image.shape[0]),
                  "faces": [face.to_json() for face in faces]}
        if args.json:
            print(json.dumps(record), flush=True)
        else:
            print(_describe(record), flush=True)
    return _report_failures(failures)


def _describe(record: dict) -> str:
    lines = [f"{record['image']}: {record['width']}x{record['height']}, "
             f"{len(record['faces'])} face(s)"]
    for i, face in enumerate(record["faces"]):
        x0, y0, x1, y1 = face["box"]
        lines.append(f"  #{i} box ({x0:.0f}, {y0:.0f})-({x1:.0f}, {y1:.0f}) "
                     f"score {face['score']:.2f} roll {face['roll']:+.1f}")
    return "\n".join(lines)


def _cmd_run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    _refuse_duplicate_stems(args.images)
    runner = _Runner(args, settings)
    failures: list[str] = []
    for path, image in _readable(args.images, "run", failures):
        runner.run_one(image, Path(path).stem)
    return _report_failures(failures)


def _cmd_demo(args: argparse.Namespace) -> int:
    from lib_facepop.demo import demo_scene

    settings = settings_from_args(args)
    runner = _Runner(args, settings)
    written = runner.run_one(demo_scene(), "demo")
    print(f"wrote {written}", flush=True)
    if runner.last_debug_folder is not None:
        print(f"debugging folder: {runner.last_debug_folder} "
              f"(see contact-sheet.png)", flush=True)
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(), indent=2))
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from lib_facepop.detect.mediapipe_runtime import check_mediapipe

    print(check_mediapipe())
    return 0


class _Runner:
    """Builds the pipeline once and runs it image after image."""

    def __init__(self, args: argparse.Namespace, settings: FacePopSettings) -> None:
        from lib_facepop.standalone import build_pipeline

        self.settings = settings
        self.out = Path(args.out)
        self.pipeline, self.job = build_pipeline(
            settings, server=args.server, processor=args.processor, prompt=args.prompt,
            negative_prompt=args.negative_prompt, seed=args.seed, timeout=args.timeout,
            modnet=args.modnet, models_dir=args.models_dir)
        self.last_debug_folder: Path | None = None

    def run_one(self, image: Any, stem: str) -> Path:
        from lib_facepop.debug import DebugFolder
        from lib_facepop.images import save_png

        result = self.pipeline.run(image, self.settings, self.job)
        target = self.out / f"{stem}.png"
        save_png(target, result.image)
        if self.settings.save_faces:
            for i, processed in enumerate(result.faces):
                save_png(self.out / "faces" / f"{stem}-{i:02d}.png", processed.output)
        if self.settings.debug:
            self.last_debug_folder = DebugFolder(self.out / "debug").write(
                stem, result, self.settings)
        log.info("%s: %d face(s) processed -> %s", stem, len(result.faces), target)
        return target


def _refuse_duplicate_stems(paths: Sequence[str]) -> None:
    seen: dict[str, str] = {}
    for path in paths:
        stem = Path(path).stem
        if stem in seen:
            raise CommandError(f"{seen[stem]} and {path} would both be written as "
                               f"{stem}.png; run them separately")
        seen[stem] = path


def _report_failures(failures: list[str]) -> int:
    for message in failures:
        print(f"facepop: {message}", file=sys.stderr)
    return EXIT_ERROR if failures else 0


def _readable(paths: Sequence[str], what: str, failures: list[str]) -> Iterator[tuple[str, Any]]:
    """(path, RGB image) for each path that can be read, in order, with a progress bar;
    the others' messages go to ``failures``."""
    from lib_facepop.images import load_image

    for path in _progress(paths, what):
        try:
            image = load_image(path)
        except FacePopError as exc:
            failures.append(str(exc))
            continue
        yield path, image


def _progress(items: Sequence[str], what: str) -> Iterable[str]:
    if len(items) < 2:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=f"facepop {what}", unit="image", file=sys.stderr,
                disable=None, leave=False)
