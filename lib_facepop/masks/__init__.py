"""Face masks: where a processed face replaces the source image."""

from lib_facepop.masks.base import FaceMask, MaskSource
from lib_facepop.masks.fallback import (
    FallbackMaskSource,
    create_mask_source,
    default_models_dir,
)
from lib_facepop.masks.mattes import ModnetMaskSource, SelfieMaskSource
from lib_facepop.masks.region import EllipseMaskSource, feathered_face_region, soft_ellipse

__all__ = [
    "EllipseMaskSource",
    "FaceMask",
    "FallbackMaskSource",
    "MaskSource",
    "ModnetMaskSource",
    "SelfieMaskSource",
    "create_mask_source",
    "default_models_dir",
    "feathered_face_region",
    "soft_ellipse",
]
