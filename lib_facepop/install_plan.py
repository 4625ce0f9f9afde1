"""What FacePop's WebUI installer (install.py) installs: only what is missing, pinned,
without ever changing the host's torch, gradio, numpy, OpenCV, protobuf or Pillow.

An installed mediapipe is left alone when it is in FacePop's range and FacePop's check
really runs with it; FacePop's own choice (mediapipe_range.MEDIAPIPE_CHOICE) is installed
only when mediapipe is missing, outside the range, or failing. So FacePop never fights
another extension's mediapipe that works (docs/design.md section 4, item 10).

Standard library only: install.py runs in its own process before the WebUI's packages
are guaranteed to be importable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from lib_facepop.mediapipe_check import CheckOutcome, MediapipeCheck
from lib_facepop.mediapipe_range import (
    MEDIAPIPE_CHOICE,
    NEWEST_MEDIAPIPE,
    OLDEST_MEDIAPIPE,
    mediapipe_in_range,
)

ONNXRUNTIME_VERSION = "1.23.2"
ONNX_VERSION = "1.16.2"
"""For converting the official MODNet checkpoint with the WebUI's torch. Its declared
protobuf>=3.20.2 is one patch above the WebUI's pin; it runs with 3.20.0, hence --no-deps
(it needs only numpy and protobuf, which the WebUI has)."""

# What `import mediapipe` really needs besides numpy and OpenCV, which the WebUI has. Its
# wheel also declares jax, jaxlib, torch, sounddevice, opencv-contrib-python and (from 0.10.13)
# protobuf 4, which would pull gigabytes, fight the host's OpenCV or undo the WebUI's
# protobuf pin, so mediapipe itself is installed with --no-deps.
MEDIAPIPE_RUNTIME = ("absl-py", "attrs>=19.1.0", "flatbuffers>=2.0", "matplotlib")

PROTECTED = ("torch", "torchvision", "gradio", "numpy", "opencv-python",
             "opencv-contrib-python", "opencv-python-headless", "protobuf", "pillow",
             "fastapi", "pydantic")
"""Installed versions of these are pinned in a constraints file for every pip call."""


@dataclass(frozen=True)
class PipStep:
    args: tuple[str, ...]
    description: str
    constrained: bool = True


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    """The normalized distribution name of "name", "name==1.0", "name>=2" and the like."""
    return normalize(re.split(r"[<>=!~]", requirement)[0])


def torch_has_cuda(installed: Mapping[str, str]) -> bool:
    """Whether the host's torch is a CUDA build (its version carries a +cuXXX tag)."""
    return "+cu" in installed.get("torch", "")


def constraints_text(installed: Mapping[str, str]) -> str:
    """Pins for every protected package the host has, so pip can't change them."""
    lines = [f"{name}=={installed[name]}" for name in PROTECTED if name in installed]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Plan:
    """The pip steps, and what the installer found about the installed mediapipe (the
    check's message when it ran and didn't pass, for the user)."""

    steps: list[PipStep]
    mediapipe_note: str | None = None

    @property
    def touches_mediapipe(self) -> bool:
        """Whether a step installs mediapipe or a package it imports."""
        names = {"mediapipe", *map(requirement_name, MEDIAPIPE_RUNTIME)}
        return any(requirement_name(arg) in names
                   for step in self.steps for arg in step.args)


def plan(installed: Mapping[str, str], check: Callable[[], MediapipeCheck]) -> Plan:
    """The pip steps for a host whose installed distributions are ``installed``.

    ``installed`` maps normalized distribution names to versions. ``check`` runs FacePop's
    MediaPipe check with the installed mediapipe; it is called only when that mediapipe
    is in FacePop's range and its runtime packages are there.
    """
    missing = [req for req in MEDIAPIPE_RUNTIME if requirement_name(req) not in installed]
    mediapipe_step, note = _mediapipe_step(installed.get("mediapipe"), bool(missing), check)
    steps = [mediapipe_step] if mediapipe_step else []
    if missing:
        steps.append(PipStep(("install", *missing),
                             f"FacePop requirements: {', '.join(missing)}"))
    if "onnx" not in installed:
        steps.append(PipStep(("install", "--no-deps", f"onnx=={ONNX_VERSION}"),
                             f"FacePop requirement: onnx=={ONNX_VERSION} (MODNet conversion)"))
    if "onnxruntime" not in installed and "onnxruntime-gpu" not in installed:
        package = "onnxruntime-gpu" if torch_has_cuda(installed) else "onnxruntime"
        steps.append(PipStep(("install", f"{package}=={ONNXRUNTIME_VERSION}"),
                             f"FacePop requirement: {package}"))
    return Plan(steps, note)


def _mediapipe_step(version: str | None, runtime_missing: bool,
                    check: Callable[[], MediapipeCheck]) -> tuple[PipStep | None, str | None]:
    choice = f"mediapipe=={MEDIAPIPE_CHOICE}"
    if version is None:
        return PipStep(("install", "--no-deps", choice),
                       f"FacePop requirement: {choice}"), None
    if not mediapipe_in_range(version):
        return PipStep(("install", "--no-deps", choice),
                       f"FacePop requirement: {choice} (replacing mediapipe {version}, "
                       f"outside {OLDEST_MEDIAPIPE} to {NEWEST_MEDIAPIPE})"), None
    if runtime_missing:  # the check can't pass yet; the packages come first
        return None, None
    result = check()
    if result.outcome is CheckOutcome.PASSED:
        return None, f"mediapipe {version} runs FacePop's graphs; left as it is"
    if result.outcome is CheckOutcome.UNKNOWN:
        return None, f"{result.message}; mediapipe {version} is left as it is"
    args = ("install", "--no-deps", choice)
    if version == MEDIAPIPE_CHOICE:
        args = ("install", "--no-deps", "--force-reinstall", choice)
    return PipStep(args, f"FacePop requirement: {choice} (mediapipe {version} fails "
                         f"FacePop's check)"), result.message


def installed_distributions(version_of: Callable[[str], str | None]) -> dict[str, str]:
    """Versions of the distributions the plan looks at, by normalized name."""
    names = {*PROTECTED, "mediapipe", "onnx", "onnxruntime", "onnxruntime-gpu",
             *map(requirement_name, MEDIAPIPE_RUNTIME)}
    found = {}
    for name in sorted(names):
        version = version_of(name)
        if version:
            found[normalize(name)] = version
    return found
