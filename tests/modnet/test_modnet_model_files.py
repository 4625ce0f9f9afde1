"""Finding the model in a models folder, and converting a checkpoint to ONNX once."""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import modnet
from modnet import export as export_module
from modnet.errors import ModnetDependencyError, ModnetModelError
from modnet.matting import MattingSession
from modnet.model_files import (
    DEFAULT_CHECKPOINT_NAME,
    DEFAULT_ONNX_NAME,
    converted_onnx_path,
    ensure_onnx_for_checkpoint,
    resolve_modnet_model,
)

ConvertSpy = list[tuple[Path, Path]]


def make_file(path: Path, content: bytes = b"x", age_s: float = 0.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    if age_s:
        stamp = path.stat().st_mtime - age_s
        os.utime(path, (stamp, stamp))
    return path


@pytest.fixture
def checkpoint_in_models_dir(tmp_path: Path, official_layout_checkpoint: Path) -> Path:
    """A models folder holding only the official checkpoint (random weights)."""
    models = tmp_path / "models"
    models.mkdir()
    return Path(shutil.copy2(official_layout_checkpoint, models / DEFAULT_CHECKPOINT_NAME))


@pytest.fixture
def fake_conversion(monkeypatch: pytest.MonkeyPatch, random_onnx: Path) -> ConvertSpy:
    """Replace the real conversion by a fast copy of the random ONNX model; record calls."""
    calls: ConvertSpy = []

    def convert(checkpoint: Path, output: Path) -> Path:
        calls.append((Path(checkpoint), Path(output)))
        shutil.copyfile(random_onnx, output)
        return Path(output)

    monkeypatch.setattr(export_module, "convert_checkpoint_to_onnx", convert)
    return calls


# --- nothing there ---------------------------------------------------------------------------


def test_no_model_gives_none(tmp_path: Path) -> None:
    assert resolve_modnet_model(tmp_path / "missing-folder") is None
    assert resolve_modnet_model(tmp_path / "missing.onnx") is None
    assert resolve_modnet_model(tmp_path) is None
    make_file(tmp_path / "face_landmarker.onnx")
    make_file(tmp_path / "notes-about-modnet.txt")
    make_file(tmp_path / ".modnet.onnx.1a2b.partial")
    assert resolve_modnet_model(tmp_path) is None


# --- ONNX files ------------------------------------------------------------------------------


def test_onnx_file_is_used_as_it_is(tmp_path: Path) -> None:
    model = make_file(tmp_path / "MODNet-portrait.onnx")

    assert resolve_modnet_model(tmp_path) == model
    assert resolve_modnet_model(model) == model


def test_official_name_comes_first(tmp_path: Path) -> None:
    make_file(tmp_path / "a_modnet_variant.onnx")
    official = make_file(tmp_path / DEFAULT_ONNX_NAME)

    assert resolve_modnet_model(tmp_path) == official


def test_other_files_in_name_order(tmp_path: Path) -> None:
    make_file(tmp_path / "modnet_b.onnx")
    first = make_file(tmp_path / "modnet_a.Onnx")

    assert resolve_modnet_model(tmp_path) == first


def test_a_file_of_another_kind_is_refused(tmp_path: Path) -> None:
    path = make_file(tmp_path / "modnet.safetensors")

    with pytest.raises(ModnetModelError, match=r"expected \.onnx, \.ckpt or \.pth"):
        resolve_modnet_model(path)


# --- checkpoint conversion -------------------------------------------------------------------


def _spy_on_real_conversion(monkeypatch: pytest.MonkeyPatch) -> ConvertSpy:
    calls: ConvertSpy = []
    real: Callable[[Path, Path], Path] = export_module.convert_checkpoint_to_onnx

    def spy(checkpoint: Path, output: Path) -> Path:
        calls.append((Path(checkpoint), Path(output)))
        return real(checkpoint, output)

    monkeypatch.setattr(export_module, "convert_checkpoint_to_onnx", spy)
    return calls


def test_checkpoint_is_converted_once_and_reused(
    checkpoint_in_models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    models = checkpoint_in_models_dir.parent
    calls = _spy_on_real_conversion(monkeypatch)

    first = resolve_modnet_model(models)

    assert first == models / DEFAULT_ONNX_NAME
    assert calls == [(checkpoint_in_models_dir, first)]
    matte = MattingSession(first).predict(np.zeros((40, 30, 3), np.uint8), short_side=64)
    assert matte.shape == (40, 30)
    converted_mtime = first.stat().st_mtime_ns
    assert sorted(p.name for p in models.iterdir()) == [DEFAULT_CHECKPOINT_NAME, DEFAULT_ONNX_NAME]

    again = resolve_modnet_model(models)

    assert again == first
    assert len(calls) == 1
    assert first.stat().st_mtime_ns == converted_mtime


def test_conversion_can_go_to_a_cache_folder(
    checkpoint_in_models_dir: Path, tmp_path: Path, fake_conversion: ConvertSpy
) -> None:
    cache = tmp_path / "cache" / "modnet"

    model = resolve_modnet_model(checkpoint_in_models_dir.parent, cache_dir=cache)
    again = resolve_modnet_model(checkpoint_in_models_dir, cache_dir=cache)

    assert model == again == cache / DEFAULT_ONNX_NAME
    assert model == converted_onnx_path(checkpoint_in_models_dir, cache)
    assert len(fake_conversion) == 1
    assert not (checkpoint_in_models_dir.parent / DEFAULT_ONNX_NAME).exists()


def test_a_newer_checkpoint_is_converted_again(
    checkpoint_in_models_dir: Path, fake_conversion: ConvertSpy
) -> None:
    converted = ensure_onnx_for_checkpoint(checkpoint_in_models_dir)
    stamp = converted.stat().st_mtime + 60
    os.utime(checkpoint_in_models_dir, (stamp, stamp))  # the checkpoint was replaced

    assert resolve_modnet_model(checkpoint_in_models_dir.parent) == converted
    assert len(fake_conversion) == 2


def test_an_up_to_date_onnx_beside_the_checkpoint_is_used(
    checkpoint_in_models_dir: Path, fake_conversion: ConvertSpy
) -> None:
    exported = make_file(checkpoint_in_models_dir.with_suffix(".onnx"))

    assert resolve_modnet_model(checkpoint_in_models_dir.parent) == exported
    assert fake_conversion == []


def test_failed_conversion_leaves_nothing_behind(
    checkpoint_in_models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail_halfway(model: object, args: object, f: str, **kwargs: object) -> None:
        Path(f).write_bytes(b"half an ONNX file")
        raise RuntimeError("simulated exporter crash")

    monkeypatch.setattr(export_module.torch.onnx, "export", fail_halfway)
    models = checkpoint_in_models_dir.parent

    with pytest.raises(ModnetModelError, match="conversion to ONNX failed: simulated exporter"):
        resolve_modnet_model(models)

    assert [p.name for p in models.iterdir()] == [DEFAULT_CHECKPOINT_NAME]


def test_damaged_checkpoint_is_reported(tmp_path: Path) -> None:
    checkpoint = make_file(tmp_path / DEFAULT_CHECKPOINT_NAME, b"PK\x03\x04 not really a zip")

    with pytest.raises(ModnetModelError, match=f"{DEFAULT_CHECKPOINT_NAME}: not a readable"):
        resolve_modnet_model(tmp_path)

    assert [p.name for p in tmp_path.iterdir()] == [checkpoint.name]


def test_unwritable_destination_is_reported(
    checkpoint_in_models_dir: Path, tmp_path: Path, fake_conversion: ConvertSpy
) -> None:
    blocker = make_file(tmp_path / "a-file")

    with pytest.raises(ModnetModelError, match="cannot create the folder"):
        resolve_modnet_model(checkpoint_in_models_dir, cache_dir=blocker / "sub")


# --- without torch ---------------------------------------------------------------------------


@pytest.fixture
def torch_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``from modnet import export`` fail as it does where torch is not installed."""
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.delitem(sys.modules, "modnet.export")
    monkeypatch.delattr(modnet, "export")


@pytest.mark.usefixtures("torch_not_installed")
def test_missing_torch_says_what_to_install(checkpoint_in_models_dir: Path) -> None:
    with pytest.raises(ModnetDependencyError) as info:
        resolve_modnet_model(checkpoint_in_models_dir.parent)

    message = str(info.value)
    assert "needs PyTorch and onnx, and torch is not installed" in message
    assert "pip install torch onnx" in message
    assert f"or put an exported .onnx file in {checkpoint_in_models_dir.parent}" in message
    assert isinstance(info.value, ImportError)


@pytest.mark.usefixtures("torch_not_installed")
def test_without_torch_an_older_onnx_is_still_used(
    checkpoint_in_models_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    older = make_file(checkpoint_in_models_dir.with_suffix(".onnx"), age_s=3600)

    with caplog.at_level(logging.WARNING, logger="modnet.model_files"):
        assert resolve_modnet_model(checkpoint_in_models_dir.parent) == older

    assert "which is older than" in caplog.text


@pytest.mark.usefixtures("torch_not_installed")
def test_onnx_files_need_no_torch(tmp_path: Path) -> None:
    model = make_file(tmp_path / DEFAULT_ONNX_NAME)

    assert resolve_modnet_model(tmp_path) == model
