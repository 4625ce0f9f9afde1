"""The WebUI installer's plan: only what is missing, pinned, never touching the host."""

from __future__ import annotations

from lib_facepop.install_plan import (
    ONNX_VERSION,
    ONNXRUNTIME_VERSION,
    constraints_text,
    installed_distributions,
    plan,
)

A1111_HOST = {"torch": "2.1.2+cu121", "numpy": "1.26.2", "protobuf": "3.20.0",
              "gradio": "3.41.2", "opencv-python": "4.8.0.76", "pillow": "9.5.0"}


def _args(steps) -> list[tuple[str, ...]]:
    return [step.args for step in steps]


def test_fresh_a1111_host_gets_mediapipe_without_deps_its_runtime_and_gpu_onnxruntime() -> None:
    assert _args(plan(A1111_HOST)) == [
        ("install", "--no-deps", "mediapipe==0.10.11"),
        ("install", "absl-py", "attrs>=19.1.0", "flatbuffers>=2.0", "matplotlib"),
        ("install", "--no-deps", f"onnx=={ONNX_VERSION}"),
        ("install", f"onnxruntime-gpu=={ONNXRUNTIME_VERSION}"),
    ]
    assert all(step.constrained for step in plan(A1111_HOST))


def test_a_cpu_torch_gets_the_cpu_onnxruntime() -> None:
    host = dict(A1111_HOST, torch="2.1.2")
    assert ("install", f"onnxruntime=={ONNXRUNTIME_VERSION}") in _args(plan(host))


def test_nothing_is_installed_when_everything_is_there() -> None:
    host = dict(A1111_HOST, mediapipe="0.10.11", **{"absl-py": "2.1", "attrs": "23.1",
                                                      "flatbuffers": "24.3",
                                                      "matplotlib": "3.8.4",
                                                      "onnx": "1.15.0",
                                                      "onnxruntime": "1.17.0"})
    assert plan(host) == []


def test_an_existing_onnxruntime_gpu_is_kept_and_no_second_runtime_added() -> None:
    host = dict(A1111_HOST, mediapipe="0.10.11", **{"onnxruntime-gpu": "1.16.3"})
    assert not any("onnxruntime" in " ".join(args) for args in _args(plan(host)))
    assert ("install", "--no-deps", f"onnx=={ONNX_VERSION}") in _args(plan(host))


def test_a_wrong_mediapipe_is_replaced_by_the_one_that_runs_under_protobuf_3() -> None:
    host = dict(A1111_HOST, mediapipe="0.10.14")
    assert ("install", "--no-deps", "mediapipe==0.10.11") in _args(plan(host))


def test_a_protobuf_4_host_gets_the_newest_mediapipe_with_solutions() -> None:
    host = dict(A1111_HOST, protobuf="4.25.3")
    assert ("install", "--no-deps", "mediapipe==0.10.21") in _args(plan(host))


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
