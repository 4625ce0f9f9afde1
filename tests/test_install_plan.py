"""The WebUI installer's plan: only what is missing, pinned, never touching the host, and
an installed mediapipe left alone when FacePop's check runs with it."""

from __future__ import annotations

import pytest

from lib_facepop.install_plan import (
    ONNX_VERSION,
    ONNXRUNTIME_VERSION,
    constraints_text,
    gpu_onnxruntime_fits,
    installed_distributions,
    plan,
    run_steps,
)
from lib_facepop.mediapipe_check import CheckOutcome, MediapipeCheck
from lib_facepop.mediapipe_range import (
    MEDIAPIPE_CHOICE,
    mediapipe_in_range,
    protobuf_supported,
    release,
)

A1111_HOST = {"torch": "2.1.2+cu121", "numpy": "1.26.2", "protobuf": "3.20.0",
              "gradio": "3.41.2", "opencv-python": "4.8.0.76", "pillow": "9.5.0"}
MEDIAPIPE_RUNTIME = {"absl-py": "2.1", "attrs": "23.1", "flatbuffers": "24.3",
                     "matplotlib": "3.8.4"}
ONNX = {"onnx": "1.16.2", "onnxruntime": "1.17.0"}
COMPLETE = {**A1111_HOST, **MEDIAPIPE_RUNTIME, **ONNX}
INSTALL_CHOICE = ("install", "--no-deps", f"mediapipe=={MEDIAPIPE_CHOICE}")


class Check:
    """A check with a fixed outcome that counts how often the plan ran it."""

    def __init__(self, outcome: CheckOutcome, message: str = "") -> None:
        self.result = MediapipeCheck(outcome, message)
        self.calls = 0

    def __call__(self) -> MediapipeCheck:
        self.calls += 1
        return self.result


def passes() -> Check:
    return Check(CheckOutcome.PASSED, "MediaPipe works")


def _args(steps) -> list[tuple[str, ...]]:
    return [step.args for step in steps]


def test_the_choice_is_inside_adetailers_range_and_facepops() -> None:
    assert release("0.10.13") <= release(MEDIAPIPE_CHOICE) <= release("0.10.15")
    assert mediapipe_in_range(MEDIAPIPE_CHOICE)


def test_fresh_a1111_host_gets_mediapipe_without_deps_its_runtime_and_onnxruntime() -> None:
    check = passes()
    to_do = plan(A1111_HOST, check)
    assert _args(to_do.steps) == [
        INSTALL_CHOICE,
        ("install", "absl-py", "attrs>=19.1.0", "flatbuffers>=2.0", "matplotlib"),
        ("install", "--no-deps", f"onnx=={ONNX_VERSION}"),
        # torch 2.1's CUDA build brings cuDNN 8: the GPU build's CUDA provider (cuDNN 9)
        # would not load, so the CPU build it would fall back to anyway
        ("install", f"onnxruntime=={ONNXRUNTIME_VERSION}"),
    ]
    assert all(step.constrained for step in to_do.steps)
    assert check.calls == 0 and to_do.touches_mediapipe


def test_a_cpu_torch_gets_the_cpu_onnxruntime() -> None:
    host = dict(A1111_HOST, torch="2.1.2")
    assert ("install", f"onnxruntime=={ONNXRUNTIME_VERSION}") in _args(plan(host, passes()).steps)


@pytest.mark.parametrize("version", ["0.10.11", "0.10.14", "0.10.15", "0.10.18", "0.10.21"])
def test_an_installed_mediapipe_in_range_that_passes_the_check_is_left_alone(version) -> None:
    check = passes()
    to_do = plan(dict(COMPLETE, mediapipe=version), check)
    assert to_do.steps == [] and check.calls == 1
    # said at every launch: why FacePop installs nothing (another extension's mediapipe)
    assert to_do.mediapipe_note == f"mediapipe {version} runs FacePop's graphs; left as it is"


def test_a_mediapipe_in_range_that_fails_the_check_is_replaced_by_the_choice() -> None:
    check = Check(CheckOutcome.FAILED, "MediaPipe 0.10.18 can't run FacePop's face mesh graph")
    to_do = plan(dict(COMPLETE, mediapipe="0.10.18"), check)
    assert _args(to_do.steps) == [INSTALL_CHOICE]
    assert "0.10.18 fails FacePop's check" in to_do.steps[0].description
    assert to_do.mediapipe_note == check.result.message


def test_the_choice_itself_failing_the_check_is_reinstalled() -> None:
    to_do = plan(dict(COMPLETE, mediapipe=MEDIAPIPE_CHOICE), Check(CheckOutcome.FAILED, "no"))
    assert _args(to_do.steps) == [("install", "--no-deps", "--force-reinstall",
                                   f"mediapipe=={MEDIAPIPE_CHOICE}")]


def test_a_check_that_cant_tell_leaves_mediapipe_alone_and_says_so() -> None:
    check = Check(CheckOutcome.UNKNOWN, "FacePop's MediaPipe check took longer than 120 s")
    to_do = plan(dict(COMPLETE, mediapipe="0.10.15"), check)
    assert to_do.steps == []
    assert to_do.mediapipe_note == ("FacePop's MediaPipe check took longer than 120 s; "
                                    "mediapipe 0.10.15 is left as it is")


@pytest.mark.parametrize("version", ["0.10.9", "0.10.22", "0.10.30"])
def test_a_mediapipe_outside_the_range_is_replaced_without_running_the_check(version) -> None:
    check = passes()
    to_do = plan(dict(COMPLETE, mediapipe=version), check)
    assert _args(to_do.steps) == [INSTALL_CHOICE]
    assert f"replacing mediapipe {version}" in to_do.steps[0].description
    assert check.calls == 0


def test_a_protobuf_4_host_gets_the_same_choice_and_keeps_its_newer_mediapipe() -> None:
    host = dict(COMPLETE, protobuf="4.25.3")
    assert _args(plan(host, passes()).steps) == [INSTALL_CHOICE]
    assert plan(dict(host, mediapipe="0.10.21"), passes()).steps == []
    assert "protobuf==4.25.3\n" in constraints_text(host)


def test_with_mediapipes_runtime_missing_the_runtime_comes_first_and_mediapipe_stays() -> None:
    check = Check(CheckOutcome.FAILED, "No module named 'absl'")
    host = {**A1111_HOST, **ONNX, "mediapipe": "0.10.14", "attrs": "23.1"}
    to_do = plan(host, check)
    assert _args(to_do.steps) == [("install", "absl-py", "flatbuffers>=2.0", "matplotlib")]
    assert check.calls == 0 and to_do.touches_mediapipe


def test_onnx_steps_alone_dont_touch_mediapipe() -> None:
    host = {**A1111_HOST, **MEDIAPIPE_RUNTIME, "mediapipe": "0.10.14"}
    to_do = plan(host, passes())
    assert [step.args[-1] for step in to_do.steps] == [
        f"onnx=={ONNX_VERSION}", f"onnxruntime=={ONNXRUNTIME_VERSION}"]
    assert not to_do.touches_mediapipe


def test_an_existing_onnxruntime_gpu_is_kept_and_no_second_runtime_added() -> None:
    host = dict(A1111_HOST, mediapipe="0.10.11", **MEDIAPIPE_RUNTIME,
                **{"onnxruntime-gpu": "1.16.3"})
    steps = plan(host, passes()).steps
    assert not any("onnxruntime" in " ".join(args) for args in _args(steps))
    assert ("install", "--no-deps", f"onnx=={ONNX_VERSION}") in _args(steps)


def test_mediapipe_is_always_installed_without_its_dependencies() -> None:
    for host, check in [(A1111_HOST, passes()),
                        (dict(COMPLETE, mediapipe="0.10.30"), passes()),
                        (dict(COMPLETE, mediapipe="0.10.18"), Check(CheckOutcome.FAILED))]:
        for args in _args(plan(host, check).steps):
            if any(arg.startswith("mediapipe") for arg in args):
                assert "--no-deps" in args and not any("protobuf" in a for a in args)


def test_constraints_pin_every_protected_package_the_host_has() -> None:
    text = constraints_text(A1111_HOST)
    assert "torch==2.1.2+cu121\n" in text and "numpy==1.26.2\n" in text
    assert "gradio==3.41.2\n" in text and "opencv-python==4.8.0.76\n" in text
    assert "protobuf==3.20.0\n" in text and "pillow==9.5.0\n" in text
    assert "mediapipe" not in text


def test_installed_distributions_reads_versions_by_normalized_name() -> None:
    versions = {"absl-py": "2.0", "opencv-python": "4.8", "torch": "2.1"}
    found = installed_distributions(versions.get)
    assert found == {"absl-py": "2.0", "opencv-python": "4.8", "torch": "2.1"}


@pytest.mark.parametrize(("version", "inside"), [
    ("0.10.10", False), ("0.10.11", True), ("0.10.14", True), ("0.10.21", True),
    ("0.10.21.post1", True), ("0.10.22", False), ("0.9.3.0", False), ("0.10.9", False)])
def test_the_supported_mediapipe_range(version, inside) -> None:
    assert mediapipe_in_range(version) is inside


@pytest.mark.parametrize(("version", "supported"), [
    ("3.19.6", False), ("3.20.0", True), ("3.20.3", True), ("4.25.8", True), ("5.29.0", False)])
def test_the_supported_protobuf_range(version, supported) -> None:
    assert protobuf_supported(version) is supported


# --- ONNX Runtime where the host's torch can lend it the GPU; Forge's venv ----------------

FORGE_FIRST_LAUNCH = {"torch": "2.3.1+cu121", "numpy": "1.26.2", "protobuf": "3.20.0",
                      "gradio": "4.40.0", "pydantic": "2.8.2", "fastapi": "0.104.1",
                      "opencv-python": "4.10.0.84", "pillow": "9.5.0", "mediapipe": "1.2.3",
                      "onnxruntime": "1.20.1", **MEDIAPIPE_RUNTIME}
"""A Forge venv after its first launch: its ControlNet's installer put the newest mediapipe
and the CPU onnxruntime there (unpinned), its requirements the protobuf 3.20 pin back."""


@pytest.mark.parametrize(("torch", "fits"), [
    ("2.1.2+cu121", False), ("2.3.1+cu121", False), ("2.3.1+cu118", False),
    ("2.4.0+cu124", True), ("2.4.1+cu121", True), ("2.7.1+cu128", True),
    ("2.4.1+cu118", False), ("2.4.1", False), ("2.4.1+rocm6.1", False), ("", False)])
def test_the_gpu_onnxruntime_only_where_torch_brings_cuda_12_and_cudnn_9(torch, fits) -> None:
    assert gpu_onnxruntime_fits({"torch": torch} if torch else {}) is fits
    host = dict(A1111_HOST, torch=torch)
    package = "onnxruntime-gpu" if fits else "onnxruntime"
    assert ("install", f"{package}=={ONNXRUNTIME_VERSION}") in _args(plan(host, passes()).steps)


def test_forges_newest_mediapipe_is_replaced_and_its_cpu_onnxruntime_kept_on_cudnn_8() -> None:
    to_do = plan(FORGE_FIRST_LAUNCH, passes())
    assert _args(to_do.steps) == [INSTALL_CHOICE, ("install", "--no-deps",
                                                   f"onnx=={ONNX_VERSION}")]
    assert "replacing mediapipe 1.2.3" in to_do.steps[0].description
    text = constraints_text(FORGE_FIRST_LAUNCH)
    for pin in ("gradio==4.40.0", "pydantic==2.8.2", "fastapi==0.104.1", "protobuf==3.20.0",
                "torch==2.3.1+cu121"):
        assert f"{pin}\n" in text


def test_forges_cpu_onnxruntime_becomes_the_gpu_build_where_it_would_run() -> None:
    host = dict(FORGE_FIRST_LAUNCH, torch="2.4.1+cu124", mediapipe="0.10.21", onnx="1.16.2")
    to_do = plan(host, passes())
    uninstall, install = to_do.steps
    assert uninstall.args == ("uninstall", "-y", "onnxruntime") and uninstall.uninstalls
    assert not uninstall.constrained
    assert install.args == ("install", f"onnxruntime-gpu=={ONNXRUNTIME_VERSION}")
    assert install.if_it_fails == ("install", "onnxruntime==1.20.1")
    assert not to_do.touches_mediapipe
    # the next launch: the GPU build is there, nothing more to do
    after = {k: v for k, v in host.items() if k != "onnxruntime"}
    assert plan({**after, "onnxruntime-gpu": ONNXRUNTIME_VERSION}, passes()).steps == []


def test_with_an_unsupported_protobuf_a_failing_mediapipe_is_left_alone() -> None:
    check = Check(CheckOutcome.FAILED, "MediaPipe's FaceDetection failed")
    to_do = plan(dict(COMPLETE, mediapipe="0.10.21", protobuf="5.29.0"), check)
    assert to_do.steps == [] and check.calls == 1
    assert "protobuf 5.29.0 is outside what FacePop supports" in to_do.mediapipe_note
    assert "mediapipe 0.10.21 is left as it is" in to_do.mediapipe_note


def test_steps_run_through_the_hosts_launch_and_a_failed_gpu_build_puts_the_cpu_one_back(
        webui, monkeypatch, capsys) -> None:
    launch = webui.launch
    host = dict(FORGE_FIRST_LAUNCH, torch="2.4.1+cu124", mediapipe="0.10.21", onnx="1.16.2")
    steps = plan(host, passes()).steps
    real_run_pip = launch.run_pip

    def run_pip(command, desc=None, live=False):
        if "onnxruntime-gpu" in command:
            raise RuntimeError("Couldn't install onnxruntime-gpu")
        return real_run_pip(command, desc, live)

    monkeypatch.setattr(launch, "run_pip", run_pip)
    run_steps(steps, launch, "/tmp/c.txt")
    calls = webui.read_pip_log()
    uninstall = next(c for c in calls if c["kind"] == "run")
    assert uninstall["command"].endswith("-m pip uninstall -y onnxruntime")
    assert "--prefer-binary" not in uninstall["command"]  # (pip uninstall refuses it)
    assert [c["command"] for c in calls if c["kind"] == "run_pip"] == [
        'install onnxruntime==1.20.1 -c "/tmp/c.txt"']
    assert "put back what was there before" in capsys.readouterr().out
