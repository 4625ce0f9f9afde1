"""MODNet fixtures: the random-weight model saved as the official checkpoint is.

``random_modnet`` and ``random_onnx`` live in tests/conftest.py, shared with the mask tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from modnet.architecture import MODNet


@pytest.fixture(scope="session")
def official_layout_checkpoint(
    tmp_path_factory: pytest.TempPathFactory, random_modnet: MODNet
) -> Path:
    """``random_modnet``'s weights saved as the official file is: a DataParallel state dict."""
    path = tmp_path_factory.mktemp("ckpt") / "modnet_photographic_portrait_matting.ckpt"
    state = {f"module.{key}": value for key, value in random_modnet.state_dict().items()}
    torch.save(state, path)
    return path
