"""A1111 / Forge installer hook: the WebUI runs this in its own process before the UI
starts.

Installs only what FacePop is missing, pinned, through the WebUI's launch.run_pip, with
the host's torch, gradio, numpy, OpenCV, protobuf, Pillow, fastapi and pydantic held at
their installed versions. An installed mediapipe that FacePop's check runs with (another
extension's, Forge's own) is left alone; a CPU onnxruntime is swapped for the GPU build
only where that build would run on the GPU (docs/forge.md). The WebUI skips this file
entirely with --skip-install.
"""

from __future__ import annotations

import importlib.metadata
import os
import tempfile

import launch

from lib_facepop.install_plan import (
    Plan,
    constraints_text,
    installed_distributions,
    plan,
    run_steps,
)
from lib_facepop.mediapipe_check import CheckOutcome, run_check


def _version_of(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _install(to_do: Plan, installed: dict[str, str]) -> None:
    handle, constraints = tempfile.mkstemp(prefix="facepop-constraints-", suffix=".txt")
    try:
        with os.fdopen(handle, "w") as f:
            f.write(constraints_text(installed))
        run_steps(to_do.steps, launch, constraints)
    finally:
        os.unlink(constraints)


def main() -> None:
    if getattr(getattr(launch, "args", None), "skip_install", False):
        return
    installed = installed_distributions(_version_of)
    to_do = plan(installed, check=run_check)
    if to_do.mediapipe_note:
        print(f"FacePop: {to_do.mediapipe_note}")
    if not to_do.steps:
        return
    _install(to_do, installed)
    if to_do.touches_mediapipe:
        result = run_check()
        if result.outcome is CheckOutcome.PASSED:
            print(f"FacePop: {result.message}")
        else:
            print(f"FacePop: MediaPipe still doesn't run FacePop's graphs: {result.message}")


main()
