"""ONNX export: same matte as PyTorch, dynamic sizes, atomic writes, and the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from modnet import export as export_module
from modnet.architecture import MODNet
from modnet.export import convert_checkpoint_to_onnx, export_onnx

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_onnx(path: Path, image: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (matte,) = session.run(["matte"], {"input": image})
    return matte


def run_torch(model: MODNet, image: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(image)).numpy()


def test_graph_has_the_documented_signature(random_onnx: Path) -> None:
    model = onnx.load(str(random_onnx))

    assert [entry.version for entry in model.opset_import if entry.domain in ("", "ai.onnx")] == [
        17
    ]
    (graph_input,) = model.graph.input
    (graph_output,) = model.graph.output
    assert graph_input.name == "input"
    assert graph_output.name == "matte"
    input_dims = [d.dim_param or d.dim_value for d in graph_input.type.tensor_type.shape.dim]
    output_dims = [d.dim_param or d.dim_value for d in graph_output.type.tensor_type.shape.dim]
    assert input_dims == ["batch", 3, "height", "width"]
    assert output_dims == ["batch", 1, "height", "width"]


@pytest.mark.parametrize(("height", "width"), [(64, 64), (96, 160), (224, 32)])
def test_onnx_runtime_matches_pytorch_at_several_sizes(
    random_modnet: MODNet, random_onnx: Path, height: int, width: int
) -> None:
    rng = np.random.default_rng(height * width)
    image = rng.uniform(-1, 1, size=(2, 3, height, width)).astype(np.float32)

    expected = run_torch(random_modnet, image)
    actual = run_onnx(random_onnx, image)

    assert actual.shape == (2, 1, height, width)
    assert float(expected.std()) > 0.01  # a meaningful comparison, not two constants
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-4)


def test_converted_checkpoint_gives_the_same_matte(
    tmp_path: Path, official_layout_checkpoint: Path, random_modnet: MODNet
) -> None:
    image = np.random.default_rng(7).uniform(-1, 1, size=(1, 3, 64, 96)).astype(np.float32)

    path = convert_checkpoint_to_onnx(official_layout_checkpoint, tmp_path / "converted.onnx")

    np.testing.assert_allclose(
        run_onnx(path, image), run_torch(random_modnet, image), rtol=0, atol=1e-4
    )


def _fail_after_writing(model: object, args: object, f: str, **kwargs: object) -> None:
    Path(f).write_bytes(b"half an ONNX file")
    raise RuntimeError("simulated exporter failure")


def test_failed_export_leaves_no_file(
    tmp_path: Path, random_modnet: MODNet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.onnx, "export", _fail_after_writing)
    target = tmp_path / "out.onnx"

    with pytest.raises(RuntimeError, match="simulated exporter failure"):
        export_onnx(random_modnet, target)

    assert os.listdir(tmp_path) == []


def test_failed_export_keeps_the_previous_file(
    tmp_path: Path, random_modnet: MODNet, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.onnx"
    target.write_bytes(b"previous version")
    monkeypatch.setattr(torch.onnx, "export", _fail_after_writing)

    with pytest.raises(RuntimeError):
        export_onnx(random_modnet, target)

    assert target.read_bytes() == b"previous version"
    assert os.listdir(tmp_path) == ["out.onnx"]


def test_invalid_onnx_output_is_not_installed(
    tmp_path: Path, random_modnet: MODNet, monkeypatch: pytest.MonkeyPatch
) -> None:
    def write_garbage(model: object, args: object, f: str, **kwargs: object) -> None:
        Path(f).write_bytes(b"not a protobuf")

    monkeypatch.setattr(torch.onnx, "export", write_garbage)

    with pytest.raises(Exception):  # noqa: B017 - whatever onnx.checker raises
        export_onnx(random_modnet, tmp_path / "out.onnx")

    assert os.listdir(tmp_path) == []


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modnet.export", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_exports_random_weights(tmp_path: Path) -> None:
    target = tmp_path / "random.onnx"

    result = run_cli("--random-weights", str(target), "--seed", "3")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(target)
    image = np.zeros((1, 3, 64, 32), dtype=np.float32)
    assert run_onnx(target, image).shape == (1, 1, 64, 32)
    assert [p.name for p in tmp_path.iterdir()] == ["random.onnx"]


def test_cli_reports_a_missing_checkpoint_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = export_module.main([str(tmp_path / "absent.ckpt"), str(tmp_path / "out.onnx")])

    assert status == 1
    error = capsys.readouterr().err
    assert error == f"modnet.export: error: {tmp_path / 'absent.ckpt'}: checkpoint file not found\n"
    assert not (tmp_path / "out.onnx").exists()


def test_cli_reports_a_missing_output_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = export_module.main(["--random-weights", str(tmp_path / "no" / "out.onnx")])

    assert status == 1
    assert "the output folder does not exist" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--random-weights", "a.onnx", "b.onnx"], "with --random-weights give only OUT.onnx"),
        (["only-one.ckpt"], "give CHECKPOINT and OUT.onnx"),
    ],
)
def test_cli_rejects_a_wrong_number_of_paths(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        export_module.main(argv)

    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_help_documents_both_forms(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        export_module.main(["--help"])

    assert info.value.code == 0
    help_text = capsys.readouterr().out
    assert "--random-weights" in help_text
    assert "weights_only=True" in help_text
    assert "opset 17" in help_text
