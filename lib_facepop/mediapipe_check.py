"""FacePop's MediaPipe check run in a separate Python, for the WebUI installer.

``run_check`` starts ``python -m lib_facepop.mediapipe_check`` (this module's ``main``),
which runs every FacePop graph on a bundled photo (check_mediapipe) and answers through
its exit code. A separate process because a broken MediaPipe can crash or hang in native
code, and the installer must survive both. Standard library only on the calling side.
"""

from __future__ import annotations

import enum
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHECK_TIMEOUT_S = 120.0
"""Several seconds on a cold start of a slow disk; a few seconds when all is well."""

_EXIT_UNAVAILABLE = 2  # MediaPipe can't run FacePop's graphs
_EXIT_CANT_START = 3  # the check itself couldn't start (not MediaPipe's fault)


class CheckOutcome(enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    """MediaPipe can't run FacePop's graphs (or crashed trying)."""
    UNKNOWN = "unknown"
    """The check couldn't say (it timed out, or failed for a reason other than
    MediaPipe): the installer leaves mediapipe as it is."""


@dataclass(frozen=True)
class MediapipeCheck:
    outcome: CheckOutcome
    message: str


def run_check(python: str = sys.executable, timeout_s: float = CHECK_TIMEOUT_S
              ) -> MediapipeCheck:
    """Run FacePop's check in a new ``python`` (the WebUI's) and say how it went."""
    env = {**os.environ, "GLOG_minloglevel": "2", "TF_CPP_MIN_LOG_LEVEL": "2"}
    try:
        done = subprocess.run([python, "-m", "lib_facepop.mediapipe_check"],
                              cwd=PROJECT_ROOT, env=env, capture_output=True,
                              encoding="utf8", errors="replace", timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return MediapipeCheck(CheckOutcome.UNKNOWN,
                              f"FacePop's MediaPipe check took longer than {timeout_s:.0f} s")
    except OSError as exc:
        return MediapipeCheck(CheckOutcome.UNKNOWN, f"FacePop's MediaPipe check can't "
                                                    f"start: {exc}")
    said = _last_line(done.stdout) if done.returncode == 0 else _last_line(done.stderr)
    if done.returncode == 0:
        return MediapipeCheck(CheckOutcome.PASSED, said)
    if done.returncode == _EXIT_UNAVAILABLE or done.returncode < 0:
        return MediapipeCheck(CheckOutcome.FAILED, said or
                              f"MediaPipe crashed (exit code {done.returncode})")
    return MediapipeCheck(CheckOutcome.UNKNOWN,
                          said or f"FacePop's MediaPipe check failed (exit code "
                                  f"{done.returncode})")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def main() -> int:
    try:
        from lib_facepop.detect.graph_check import check_mediapipe
        from lib_facepop.errors import DetectorUnavailableError
    except Exception as exc:
        print(f"FacePop's MediaPipe check can't start: {type(exc).__name__}: {exc}",
              file=sys.stderr)
        return _EXIT_CANT_START
    try:
        print(check_mediapipe())
    except DetectorUnavailableError as exc:
        print(exc, file=sys.stderr)
        return _EXIT_UNAVAILABLE
    return 0


if __name__ == "__main__":
    sys.exit(main())
