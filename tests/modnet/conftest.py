"""Shared fixtures: one random-weight MODNet, its checkpoint and its ONNX export per session."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from modnet.architecture import MODNet, build_random_modnet
from modnet.export import export_onnx


@pytest.fixture(scope="session")
def random_modnet() -> MODNet:
    """MODNet with random (seeded) weights, in eval mode. Do not modify it in a test."""
    return build_random_modnet(seed=0)


@pytest.fixture(scope="session")
def official_layout_checkpoint(
    tmp_path_factory: pytest.TempPathFactory, random_modnet: MODNet
) -> Path:
    """``random_modnet``'s weights saved as the official file is: a DataParallel state dict."""
    path = tmp_path_factory.mktemp("ckpt") / "modnet_photographic_portrait_matting.ckpt"
    state = {f"module.{key}": value for key, value in random_modnet.state_dict().items()}
    torch.save(state, path)
    return path


@pytest.fixture(scope="session")
def random_onnx(tmp_path_factory: pytest.TempPathFactory, random_modnet: MODNet) -> Path:
    """The ONNX export of ``random_modnet`` (exported once per test session)."""
    return export_onnx(random_modnet, tmp_path_factory.mktemp("onnx") / "modnet-random.onnx")
