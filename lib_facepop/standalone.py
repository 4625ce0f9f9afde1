"""The parts of a standalone run (the CLI), outside the WebUI: detector, mask source and a
local face processor."""

from __future__ import annotations

from pathlib import Path

from lib_facepop.detect import FaceDetector, create_detector
from lib_facepop.masks import MaskSource, create_mask_source
from lib_facepop.processors import FaceProcessor, IdentityProcessor
from lib_facepop.processors.stylize import StylizeProcessor
from lib_facepop.settings import FacePopSettings

LOCAL_PROCESSORS = ("none", "stylize")


class ModelPathError(ValueError):
    """A model file or folder given by the user isn't there."""


def check_model_paths(modnet: Path | None, models_dir: Path | None) -> None:
    """A MODNet file or models folder the user names must exist (ModelPathError)."""
    if modnet is not None:
        if not modnet.exists():
            raise ModelPathError(f"--modnet {modnet}: no such file")
        if modnet.is_dir():
            raise ModelPathError(f"--modnet {modnet}: is a folder; give the model file, or "
                                 f"the folder with --models-dir")
    if models_dir is not None and not models_dir.is_dir():
        what = "is a file, not a folder" if models_dir.exists() else "no such folder"
        raise ModelPathError(f"--models-dir {models_dir}: {what}")


def build_parts(settings: FacePopSettings, *, modnet: Path | None = None,
                models_dir: Path | None = None) -> tuple[FaceDetector, MaskSource]:
    """The detector and mask source of a run, built once for all its images."""
    check_model_paths(modnet, models_dir)
    mask_source = create_mask_source(settings, model_file=modnet, models_dir=models_dir)
    return create_detector(settings), mask_source


def local_processor(name: str) -> FaceProcessor:
    """A face processor that needs no server: "none" returns faces unchanged, "stylize"
    paints them (the demo)."""
    if name == "stylize":
        return StylizeProcessor()
    if name == "none":
        return IdentityProcessor()
    raise ValueError(f"unknown processor {name!r}; expected one of {LOCAL_PROCESSORS}")
