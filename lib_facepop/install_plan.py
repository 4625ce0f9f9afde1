"""What FacePop's WebUI installer (install.py) installs: only what is missing, pinned,
without ever changing the host's torch, gradio, numpy, OpenCV, protobuf or Pillow.

Standard library only: install.py runs in its own process before the WebUI's packages
are guaranteed to be importable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

MEDIAPIPE_FOR_PROTOBUF_3 = "0.10.11"
"""Newest MediaPipe whose `solutions` API runs under protobuf 3.20 (A1111 and Forge pin it)."""
MEDIAPIPE_FOR_PROTOBUF_4 = "0.10.21"
"""Newest MediaPipe that still ships `solutions` with its models (0.10.30 dropped them)."""
ONNXRUNTIME_VERSION = "1.23.2"
ONNX_VERSION = "1.16.2"
"""For converting the official MODNet checkpoint with the WebUI's torch. Its declared
protobuf>=3.20.2 is one patch above the WebUI's pin; it runs with 3.20.0, hence --no-deps
(it needs only numpy and protobuf, which the WebUI has)."""

# What mediapipe's `solutions` really import. Its wheel also declares jax, jaxlib, torch,
# sounddevice and opencv-contrib-python, which would pull gigabytes or fight the host's
# OpenCV, so mediapipe itself is installed with --no-deps.
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


def _major_minor_patch(version: str) -> tuple[int, ...]:
    parts = re.findall(r"\d+", version.split("+")[0])
    return tuple(int(p) for p in parts[:3])


def torch_has_cuda(installed: Mapping[str, str]) -> bool:
    """Whether the host's torch is a CUDA build (its version carries a +cuXXX tag)."""
    return "+cu" in installed.get("torch", "")


def wanted_mediapipe(installed: Mapping[str, str]) -> str:
    protobuf = installed.get("protobuf", "3.20.0")
    return (MEDIAPIPE_FOR_PROTOBUF_4 if _major_minor_patch(protobuf)[:1] >= (4,)
            else MEDIAPIPE_FOR_PROTOBUF_3)


def constraints_text(installed: Mapping[str, str]) -> str:
    """Pins for every protected package the host has, so pip can't change them."""
    lines = [f"{name}=={installed[name]}" for name in PROTECTED if name in installed]
    return "\n".join(lines) + "\n"


def plan(installed: Mapping[str, str]) -> list[PipStep]:
    """The pip steps for a host whose installed distributions are ``installed``.

    ``installed`` maps normalized distribution names to versions.
    """
    steps: list[PipStep] = []
    mediapipe = wanted_mediapipe(installed)
    if installed.get("mediapipe") != mediapipe:
        steps.append(PipStep(("install", "--no-deps", f"mediapipe=={mediapipe}"),
                             f"FacePop requirement: mediapipe=={mediapipe}"))
    missing = [req for req in MEDIAPIPE_RUNTIME
               if normalize(re.split(r"[<>=!~]", req)[0]) not in installed]
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
    return steps


def installed_distributions(version_of: Callable[[str], str | None]) -> dict[str, str]:
    """Versions of the distributions the plan looks at, by normalized name."""
    names = {*PROTECTED, "mediapipe", "onnx", "onnxruntime", "onnxruntime-gpu",
             *(normalize(re.split(r"[<>=!~]", r)[0]) for r in MEDIAPIPE_RUNTIME)}
    found = {}
    for name in sorted(names):
        version = version_of(name)
        if version:
            found[normalize(name)] = version
    return found
