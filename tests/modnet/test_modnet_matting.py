"""MattingSession: mattes of the right size and range, input checks, bad model files, caching."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

from modnet.architecture import MODNet
from modnet.errors import ModnetDependencyError, ModnetInputError, ModnetModelError
from modnet.matting import (
    CPU_PROVIDER,
    CUDA_PROVIDER,
    MattingSession,
    choose_providers,
    load_matting_session,
    provider_settings,
)
from modnet.preprocess import matte_to_image_size, to_network_input

REPO_ROOT = Path(__file__).resolve().parents[2]
FAST = 64  # short side used where the test is not about MODNet's own 512 px


def gradient_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth RGB uint8 image with a little noise (closer to a photo than pure noise)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x / max(width - 1, 1), y / max(height - 1, 1), (x + y) / (height + width)], -1)
    noisy = base * 220 + rng.normal(0, 12, size=base.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


# --- tiny hand-made ONNX models ---------------------------------------------------------------

Shape = Sequence[int | str | None]


def save_model(
    path: Path,
    nodes: list[onnx.NodeProto],
    inputs: dict[str, Shape],
    outputs: dict[str, Shape],
    input_type: int = TensorProto.FLOAT,
) -> Path:
    graph = helper.make_graph(
        nodes,
        "test-graph",
        [helper.make_tensor_value_info(name, input_type, shape) for name, shape in inputs.items()],
        [
            helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)
            for name, shape in outputs.items()
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def channel_mean_model(path: Path, batch: int | str = "n", size: Shape = ("h", "w")) -> Path:
    """matte = sigmoid(mean over the RGB channels): MODNet's signature, trivial content."""
    return save_model(
        path,
        [
            helper.make_node("ReduceMean", ["image"], ["mean"], axes=[1], keepdims=1),
            helper.make_node("Sigmoid", ["mean"], ["alpha"]),
        ],
        {"image": [batch, 3, *size]},
        {"alpha": [batch, 1, *size]},
    )


def expected_channel_mean_matte(value: int) -> float:
    return float(1 / (1 + np.exp(-(value / 127.5 - 1))))


# --- mattes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("height", "width"), [(720, 720), (101, 37), (33, 200), (64, 64), (8, 8), (1000, 64)]
)
def test_matte_has_the_input_size_and_range(random_onnx: Path, height: int, width: int) -> None:
    session = MattingSession(random_onnx)

    matte = session.predict(gradient_image(height, width), short_side=FAST)

    assert matte.shape == (height, width)
    assert matte.dtype == np.float32
    assert 0.0 <= float(matte.min()) <= float(matte.max()) <= 1.0


def test_matte_equals_the_pytorch_pipeline_at_512(random_onnx: Path, random_modnet: MODNet) -> None:
    image = gradient_image(720, 720, seed=1)
    network_input = to_network_input(image, (512, 512))  # 720 px face crop -> 512 px
    with torch.no_grad():
        reference = random_modnet(torch.from_numpy(network_input[None])).numpy()[0, 0]
    expected = matte_to_image_size(reference, (720, 720))

    matte = MattingSession(random_onnx).predict(image)

    assert float(expected.std()) > 0.01
    # float32 sums over a 512 px graph differ a little more between runtimes than at 64 px
    np.testing.assert_allclose(matte, expected, rtol=0, atol=5e-4)
    assert float(np.abs(matte - expected).mean()) < 5e-5


def test_batch_gives_the_same_mattes_as_single_images(random_onnx: Path) -> None:
    session = MattingSession(random_onnx)
    session.max_batch = 8  # on the CPU it is 1; batch anyway, to test batching
    images = [gradient_image(96, 96, 1), gradient_image(50, 80, 2), gradient_image(96, 96, 3)]

    batched = session.predict_batch(images, short_side=FAST)
    single = [session.predict(image, short_side=FAST) for image in images]

    assert [m.shape for m in batched] == [(96, 96), (50, 80), (96, 96)]
    for batch_matte, single_matte in zip(batched, single, strict=True):
        np.testing.assert_allclose(batch_matte, single_matte, rtol=0, atol=1e-5)
    assert not np.allclose(batched[0], batched[2], atol=1e-3)  # images were not mixed up
    assert session.predict_batch([]) == []


def test_fixed_size_model_runs_at_its_size(tmp_path: Path) -> None:
    session = MattingSession(channel_mean_model(tmp_path / "fixed.onnx", 1, (64, 64)))
    images = [np.full((100, 80, 3), value, dtype=np.uint8) for value in (0, 100, 255)]

    mattes = session.predict_batch(images)

    assert session.signature.fixed_size == (64, 64)
    for value, matte in zip((0, 100, 255), mattes, strict=True):
        assert matte.shape == (100, 80)
        np.testing.assert_allclose(matte, expected_channel_mean_matte(value), atol=1e-6)


def test_fixed_batch_model_is_padded(tmp_path: Path) -> None:
    session = MattingSession(channel_mean_model(tmp_path / "batch2.onnx", 2))
    images = [np.full((40, 40, 3), value, dtype=np.uint8) for value in (10, 20, 30)]

    mattes = session.predict_batch(images)

    for value, matte in zip((10, 20, 30), mattes, strict=True):
        np.testing.assert_allclose(matte, expected_channel_mean_matte(value), atol=1e-6)


# --- input checks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((64, 64), np.uint8), "single-channel image of shape \\(64, 64\\)"),
        (np.zeros((64, 64, 1), np.uint8), "single-channel image"),
        (np.zeros((64, 64, 4), np.uint8), "got 4 channels"),
        (np.zeros((3, 64, 64), np.uint8), "shape \\(H, W, 3\\), got shape \\(3, 64, 64\\)"),
        (np.zeros((2, 64, 64, 3), np.uint8), "got shape \\(2, 64, 64, 3\\)"),
        (np.zeros((64, 64, 3), np.float32), "dtype uint8 \\(0..255\\), got float32"),
        (np.zeros((64, 64, 3), np.uint16), "got uint16"),
        (np.zeros((64, 64, 3), bool), "got bool"),
        (np.zeros((4, 64, 3), np.uint8), "64 x 4 pixels: each side must be between 8 and 16384"),
        (np.zeros((16385, 8, 3), np.uint8), "8 x 16385 pixels"),
        ([[[0, 0, 0]]], "numpy array .* got list"),
    ],
    ids=[
        "gray-2d",
        "gray-1-channel",
        "rgba",
        "channels-first",
        "batch",
        "float",
        "uint16",
        "bool",
        "too-small",
        "too-large",
        "list",
    ],
)
def test_bad_images_are_rejected_clearly(tmp_path: Path, image: object, message: str) -> None:
    session = MattingSession(channel_mean_model(tmp_path / "mean.onnx"))

    with pytest.raises(ModnetInputError, match=message):
        session.predict(image)  # type: ignore[arg-type]


def test_input_errors_are_value_errors(tmp_path: Path) -> None:
    session = MattingSession(channel_mean_model(tmp_path / "mean.onnx"))

    with pytest.raises(ValueError, match="short_side must be at least 32"):
        session.predict(np.zeros((64, 64, 3), np.uint8), short_side=16)


# --- bad model files -------------------------------------------------------------------------


def test_missing_model_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "absent.onnx"

    with pytest.raises(ModnetModelError, match=r"absent\.onnx: ONNX model file not found"):
        MattingSession(path)
    with pytest.raises(ModnetModelError, match=r"absent\.onnx: ONNX model file not found"):
        load_matting_session(path)


@pytest.mark.parametrize("content", ["empty", "garbage", "truncated"])
def test_corrupt_model_file_is_named(tmp_path: Path, random_onnx: Path, content: str) -> None:
    path = tmp_path / "broken.onnx"
    data = {
        "empty": b"",
        "garbage": b"\x08\x07 definitely not a protobuf \xff\xfe" * 50,
        "truncated": random_onnx.read_bytes()[:200_000],
    }[content]
    path.write_bytes(data)

    with pytest.raises(ModnetModelError) as info:
        MattingSession(path)

    message = str(info.value)
    assert message.startswith(f"{path}: not a valid ONNX model: ")
    assert "\n" not in message
    assert info.value.path == path


def test_a_folder_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModnetModelError, match="ONNX model file not found"):
        MattingSession(tmp_path)


@pytest.mark.parametrize(
    ("nodes", "inputs", "outputs", "message"),
    [
        (
            [helper.make_node("Identity", ["gray"], ["alpha"])],
            {"gray": ["n", 1, "h", "w"]},
            {"alpha": ["n", 1, "h", "w"]},
            "input 'gray' .* expected 3 channel",
        ),
        (
            [helper.make_node("Identity", ["image"], ["rgb"])],
            {"image": ["n", 3, "h", "w"]},
            {"rgb": ["n", 3, "h", "w"]},
            "first output 'rgb' .* expected 1 channel",
        ),
        (
            [helper.make_node("Add", ["a", "b"], ["sum"])],
            {"a": ["n", 3, "h", "w"], "b": ["n", 3, "h", "w"]},
            {"sum": ["n", 3, "h", "w"]},
            "expected exactly one input",
        ),
        (
            [helper.make_node("Flatten", ["image"], ["flat"])],
            {"image": ["n", 3, "h", "w"]},
            {"flat": ["n", "k"]},
            "first output 'flat' .* expected 4 dimensions",
        ),
    ],
    ids=["one-channel-input", "three-channel-output", "two-inputs", "flat-output"],
)
def test_models_unlike_modnet_are_rejected(
    tmp_path: Path,
    nodes: list[onnx.NodeProto],
    inputs: dict[str, Shape],
    outputs: dict[str, Shape],
    message: str,
) -> None:
    path = save_model(tmp_path / "other.onnx", nodes, inputs, outputs)

    with pytest.raises(ModnetModelError, match=f"other.onnx: not a MODNet model: .*{message}"):
        MattingSession(path)


def test_integer_input_model_is_rejected(tmp_path: Path) -> None:
    path = save_model(
        tmp_path / "uint8.onnx",
        [helper.make_node("Cast", ["image"], ["alpha"], to=TensorProto.FLOAT)],
        {"image": ["n", 3, "h", "w"]},
        {"alpha": ["n", 3, "h", "w"]},
        input_type=TensorProto.UINT8,
    )

    with pytest.raises(ModnetModelError, match=r"not a MODNet model: .*expected tensor\(float\)"):
        MattingSession(path)


def test_model_whose_matte_has_another_size_is_rejected_at_run_time(tmp_path: Path) -> None:
    path = save_model(
        tmp_path / "half.onnx",
        [
            helper.make_node("ReduceMean", ["image"], ["mean"], axes=[1], keepdims=1),
            helper.make_node("MaxPool", ["mean"], ["alpha"], kernel_shape=[2, 2], strides=[2, 2]),
        ],
        {"image": ["n", 3, "h", "w"]},
        {"alpha": ["n", 1, "h2", "w2"]},
    )
    session = MattingSession(path)

    with pytest.raises(ModnetModelError, match=r"half.onnx: not a MODNet model: output of shape"):
        session.predict(np.zeros((64, 64, 3), np.uint8), short_side=FAST)


# --- providers, caching, dependencies --------------------------------------------------------


def test_cuda_is_chosen_when_onnxruntime_offers_it() -> None:
    assert choose_providers(["TensorrtExecutionProvider", CUDA_PROVIDER, CPU_PROVIDER]) == [
        CUDA_PROVIDER,
        CPU_PROVIDER,
    ]
    assert choose_providers(["AzureExecutionProvider", CPU_PROVIDER]) == [CPU_PROVIDER]


def test_cuda_memory_arena_grows_only_as_needed() -> None:
    assert provider_settings([CUDA_PROVIDER, CPU_PROVIDER]) == [
        (CUDA_PROVIDER, {"arena_extend_strategy": "kSameAsRequested"}),
        (CPU_PROVIDER, {}),
    ]


def test_session_reports_the_provider_that_runs(tmp_path: Path) -> None:
    session = MattingSession(channel_mean_model(tmp_path / "mean.onnx"))

    assert session.provider == CPU_PROVIDER  # no GPU in the test environment
    assert session.max_batch == 1  # one image at a time on the CPU


def test_one_cached_session_per_model_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = channel_mean_model(tmp_path / "mean.onnx")
    caplog.set_level(logging.INFO, logger="modnet.matting")

    first = load_matting_session(path)
    again = load_matting_session(tmp_path / "." / "mean.onnx")

    assert again is first
    chosen = [r for r in caplog.records if "MODNet matting runs on" in r.getMessage()]
    assert len(chosen) == 1


def test_a_replaced_model_file_gets_a_new_session(tmp_path: Path) -> None:
    path = channel_mean_model(tmp_path / "mean.onnx")
    first = load_matting_session(path)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    assert load_matting_session(path) is not first


def test_copies_of_a_model_get_their_own_sessions(tmp_path: Path) -> None:
    path = channel_mean_model(tmp_path / "mean.onnx")
    copy = Path(shutil.copy2(path, tmp_path / "copy.onnx"))

    assert load_matting_session(copy) is not load_matting_session(path)


def test_missing_onnxruntime_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = channel_mean_model(tmp_path / "mean.onnx")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)

    with pytest.raises(ModnetDependencyError, match="needs onnxruntime: pip install onnxruntime"):
        MattingSession(path)


def test_inference_never_imports_torch(random_onnx: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        import modnet

        model = modnet.resolve_modnet_model({str(random_onnx)!r})
        matte = modnet.load_matting_session(model).predict(
            np.zeros((80, 60, 3), np.uint8), short_side=64
        )
        assert matte.shape == (80, 60), matte.shape
        print(sorted(name for name in ("torch", "onnx") if name in sys.modules))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
