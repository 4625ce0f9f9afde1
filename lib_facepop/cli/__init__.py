"""The command line: ``python -m lib_facepop {detect,run,demo,schema,check}``.

Contract (docs/design.md section 3.1): ``detect IMAGE... --json`` prints one JSON object
per image per line, in the order given; ``run IMAGE... --out DIR`` writes DIR/<stem>.png
per input. Exit status: 0 when every image was done (or skipped), 1 when any failed, 2 for
a usage error found before any work (bad settings or flags, an output folder that can't be
written, a server that refuses the credentials, an upscaler no server has), 130 when
interrupted.

The parts: flags.py (the parser), arguments.py (settings and values from the arguments
and files), errors.py (failures and exit status), one module per command (detect.py,
run.py, demo.py, info.py: schema and check). The commands import what they need when
they run, so --help stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence

from lib_facepop.cli.arguments import settings_from_args
from lib_facepop.cli.demo import demo_command
from lib_facepop.cli.detect import detect_command
from lib_facepop.cli.errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    CommandError,
    UsageError,
)
from lib_facepop.cli.flags import build_parser
from lib_facepop.cli.info import check_command, schema_command
from lib_facepop.cli.run import run_command
from lib_facepop.errors import FacePopError, SettingsError
from lib_facepop.stderr_filter import stderr_without

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "CommandError",
    "UsageError",
    "build_parser",
    "main",
    "settings_from_args",
]

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "detect": detect_command,
    "run": run_command,
    "demo": demo_command,
    "schema": schema_command,
    "check": check_command,
}


def main(argv: Sequence[str] | None = None) -> int:
    _quiet_native_logs()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="facepop: %(message)s")
    try:
        with stderr_without(), _own_pixel_limit():
            return COMMANDS[args.command](args)
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
