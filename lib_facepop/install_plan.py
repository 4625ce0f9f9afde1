"""What FacePop's WebUI installer (install.py) installs: only what is missing, pinned,
without ever changing the host's torch, gradio, numpy, OpenCV, protobuf or Pillow.

An installed mediapipe is left alone when it is in FacePop's range and FacePop's check
really runs with it; FacePop's own choice (mediapipe_range.MEDIAPIPE_CHOICE) is installed
only when mediapipe is missing, outside the range, or failing with a protobuf FacePop
supports (with another protobuf no mediapipe would pass: it is left as it is). So FacePop
never fights another extension's mediapipe that works (docs/design.md section 4, item 10;
Forge: docs/forge.md).

ONNX Runtime (MODNet): the GPU build only where the host's torch can lend it CUDA and
cuDNN it loads with (a CUDA 12 torch from 2.4 on, which brings cuDNN 9), else the CPU
build; a CPU build that Forge's first launch installed is replaced by the GPU build where
that fits (and put back if the GPU build fails to install).

Standard library only: install.py runs in its own process before the WebUI's packages
are guaranteed to be importable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lib_facepop.mediapipe_check import CheckOutcome, MediapipeCheck
from lib_facepop.mediapipe_range import (
    MEDIAPIPE_CHOICE,
    NEWEST_MEDIAPIPE,
    OLDEST_MEDIAPIPE,
    mediapipe_in_range,
    protobuf_supported,
    supported_text,
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
    if_it_fails: tuple[str, ...] | None = None
    """pip args that undo what the steps before it did, run if this step fails."""

    @property
    def uninstalls(self) -> bool:
        """An uninstall (the host's run_pip can't run one: it adds install options)."""
        return bool(self.args) and self.args[0] == "uninstall"


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    """The normalized distribution name of "name", "name==1.0", "name>=2" and the like."""
    return normalize(re.split(r"[<>=!~]", requirement)[0])


def torch_has_cuda(installed: Mapping[str, str]) -> bool:
    """Whether the host's torch is a CUDA build (its version carries a +cuXXX tag)."""
    return "+cu" in installed.get("torch", "")


GPU_ONNXRUNTIME_TORCH = (2, 4)
"""The first torch whose CUDA 12 builds bring cuDNN 9, which ONNX Runtime's GPU build
(CUDA 12, cuDNN 9 from 1.19 on) loads in the WebUI's process; older CUDA torches bring
cuDNN 8 (or CUDA 11), with which its CUDA provider fails to load and it runs on the CPU."""


def gpu_onnxruntime_fits(installed: Mapping[str, str]) -> bool:
    """Whether ONNX Runtime's GPU build would run on the GPU next to the host's torch."""
    if not torch_has_cuda(installed):
        return False
    version = installed["torch"]
    release_part, _, local = version.partition("+")
    cuda = re.match(r"cu(\d+)", local)
    numbers = tuple(int(n) for n in re.findall(r"\d+", release_part)[:2])
    return cuda is not None and cuda.group(1).startswith("12") and \
        numbers >= GPU_ONNXRUNTIME_TORCH


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
    mediapipe_step, note = _mediapipe_step(installed.get("mediapipe"), bool(missing), check,
                                           installed.get("protobuf"))
    steps = [mediapipe_step] if mediapipe_step else []
    if missing:
        steps.append(PipStep(("install", *missing),
                             f"FacePop requirements: {', '.join(missing)}"))
    if "onnx" not in installed:
        steps.append(PipStep(("install", "--no-deps", f"onnx=={ONNX_VERSION}"),
                             f"FacePop requirement: onnx=={ONNX_VERSION} (MODNet conversion)"))
    steps += _onnxruntime_steps(installed)
    return Plan(steps, note)


def _onnxruntime_steps(installed: Mapping[str, str]) -> list[PipStep]:
    if "onnxruntime-gpu" in installed:
        return []
    gpu = gpu_onnxruntime_fits(installed)
    if "onnxruntime" not in installed:
        package = "onnxruntime-gpu" if gpu else "onnxruntime"
        return [PipStep(("install", f"{package}=={ONNXRUNTIME_VERSION}"),
                        f"FacePop requirement: {package}")]
    if not gpu:
        return []
    # Forge's first launch installs the CPU build for its preprocessors; both builds are
    # the same `onnxruntime` module, so the CPU one goes first (Forge's installers then
    # find the module and leave it), and comes back if the GPU one can't be installed.
    cpu = installed["onnxruntime"]
    return [PipStep(("uninstall", "-y", "onnxruntime"),
                    f"FacePop: replacing the CPU onnxruntime {cpu} with the GPU build",
                    constrained=False),
            PipStep(("install", f"onnxruntime-gpu=={ONNXRUNTIME_VERSION}"),
                    "FacePop requirement: onnxruntime-gpu (MODNet on the GPU)",
                    if_it_fails=("install", f"onnxruntime=={cpu}"))]


def _mediapipe_step(version: str | None, runtime_missing: bool,
                    check: Callable[[], MediapipeCheck],
                    protobuf: str | None = None) -> tuple[PipStep | None, str | None]:
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
    if protobuf is not None and not protobuf_supported(protobuf):
        # No mediapipe runs FacePop's graphs with this protobuf: another would not help,
        # and this one may be what another extension (Forge's preprocessors) runs.
        return None, (f"{result.message}; protobuf {protobuf} is outside what FacePop "
                      f"supports ({supported_text()}), so mediapipe {version} is left as "
                      f"it is")
    args = ("install", "--no-deps", choice)
    if version == MEDIAPIPE_CHOICE:
        args = ("install", "--no-deps", "--force-reinstall", choice)
    return PipStep(args, f"FacePop requirement: {choice} (mediapipe {version} fails "
                         f"FacePop's check)"), result.message


def run_steps(steps: list[PipStep], launch: Any, constraints: str) -> None:
    """Run the steps through the host's ``launch`` module (run_pip; an uninstall through
    run, since run_pip adds install options), each install under the constraints file. A
    step that fails is said; where it says how to undo the steps before it, that is done
    and no later step runs; otherwise the next step runs."""
    for step in steps:
        try:
            _pip(launch, step, constraints)
            continue
        except Exception as exc:
            print(f"FacePop: could not install ({step.description}): {exc}")
        if step.if_it_fails is None:
            print("FacePop: install it by hand into the WebUI's Python, or FacePop will "
                  "say what is missing when it runs.")
            continue
        try:
            _pip(launch, PipStep(step.if_it_fails, "FacePop: putting back what was there"),
                 constraints)
            print("FacePop: put back what was there before")
        except Exception as exc:
            print(f"FacePop: could not put it back either ({exc}): install "
                  f"{step.if_it_fails[-1]} by hand into the WebUI's Python")
        return


def _pip(launch: Any, step: PipStep, constraints: str) -> None:
    command = " ".join(step.args)
    if step.uninstalls:
        launch.run(f'"{launch.python}" -m pip {command}', step.description,
                   f"Couldn't run pip {command}")
        return
    if step.constrained:
        command += f' -c "{constraints}"'
    launch.run_pip(command, step.description)


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
