"""Face masks: where a processed face replaces the source image."""

from __future__ import annotations

from pathlib import Path

from lib_facepop.masks.base import FaceMask, MaskSource
from lib_facepop.masks.region import EllipseMaskSource, feathered_face_region, soft_ellipse
from lib_facepop.settings import FacePopSettings


def create_mask_source(settings: FacePopSettings, model_file: Path | None = None,
                       models_dir: Path | None = None) -> MaskSource:
    """The mask source the settings ask for."""
    return EllipseMaskSource()


__all__ = [
    "EllipseMaskSource",
    "FaceMask",
    "MaskSource",
    "create_mask_source",
    "feathered_face_region",
    "soft_ellipse",
]
