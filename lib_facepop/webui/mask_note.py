"""The line under the panel's mask choice: which mask source "Auto" uses in this WebUI."""

from __future__ import annotations

import os

from modnet.model_files import modnet_model_files


def mask_source_note(models_dir: str | os.PathLike[str] | None) -> str:
    """What lies in FacePop's models folder, said for the panel. The folder is only
    listed (nothing is converted or loaded), so this is cheap enough for ``ui()``."""
    files = modnet_model_files(models_dir) if models_dir else []
    if files:
        return f"MODNet model found: {files[0].name}"
    where = f" in {models_dir}" if models_dir else ""
    return f"No MODNet model{where}: Auto uses selfie segmentation"
