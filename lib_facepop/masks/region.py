"""The feathered face region: a soft ellipse around the face, fading out in the padding."""

from __future__ import annotations

import numpy as np

from lib_facepop.align import AlignedFace
from lib_facepop.masks.base import FaceMask
from lib_facepop.settings import FacePopSettings

# The ellipse through the face box's edges misses forehead and jaw corners; grow it a bit.
REGION_GROWTH = 1.15
# Even with no feather, the edge is softened over this many pixels to avoid jaggies.
MIN_FEATHER_PX = 1.5


def feathered_face_region(aligned: AlignedFace, settings: FacePopSettings, *,
                           fill_padding: bool = False) -> np.ndarray:
    """float32 (H, W) in [0, 1]: 1 on the face, 0 at and beyond the crop border.

    The padding band is what lies between the face ellipse and the crop border, per axis.
    The soft edge is ``mask_feather`` percent of that band wide. Alone (``fill_padding``
    false) the region ends at the face and fades out into the band; under a person matte
    (``fill_padding``) it covers the band too (hair, neck) and fades out at the crop border,
    leaving the outline to the matte.
    """
    width, height = aligned.size
    center, (half_w, half_h) = aligned.region_in_aligned()
    cx, cy = float(center[0]), float(center[1])
    room_x = max(min(cx, width - cx), 1.0)
    room_y = max(min(cy, height - cy), 1.0)
    face_x = max(min(half_w * REGION_GROWTH, room_x - MIN_FEATHER_PX), 1.0)
    face_y = max(min(half_h * REGION_GROWTH, room_y - MIN_FEATHER_PX), 1.0)
    feather_x = max((room_x - face_x) * settings.mask_feather / 100.0, MIN_FEATHER_PX)
    feather_y = max((room_y - face_y) * settings.mask_feather / 100.0, MIN_FEATHER_PX)
    if fill_padding:
        # Zero on the crop's outermost pixels too (their centres lie half a pixel inside).
        outer = (max(room_x - 1.0, 1.0), max(room_y - 1.0, 1.0))
        inner = (max(outer[0] - feather_x, 1.0), max(outer[1] - feather_y, 1.0))
    else:
        inner = (face_x, face_y)
        outer = (face_x + feather_x, face_y + feather_y)
    return soft_ellipse((width, height), (cx, cy), inner, outer)


def soft_ellipse(
    size: tuple[int, int],
    center: tuple[float, float],
    inner: tuple[float, float],
    outer: tuple[float, float],
) -> np.ndarray:
    """1 inside the inner ellipse, 0 outside the outer one, a smooth ramp between.

    Along every ray from the centre the ramp runs linearly in distance from the inner to
    the outer boundary, shaped by smoothstep.
    """
    width, height = size
    xs = (np.arange(width, dtype=np.float32) + 0.5 - center[0])[None, :]
    ys = (np.arange(height, dtype=np.float32) + 0.5 - center[1])[:, None]
    u = np.sqrt((xs / inner[0]) ** 2 + (ys / inner[1]) ** 2)
    v = np.sqrt((xs / outer[0]) ** 2 + (ys / outer[1]) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(u > 1.0, v * (u - 1.0) / np.maximum(u - v, 1e-9), 0.0)
    t = np.clip(t, 0.0, 1.0)
    ramp = t * t * (3.0 - 2.0 * t)
    return (1.0 - ramp).astype(np.float32)


class EllipseMaskSource:
    """The landmark/box ellipse alone: always available, needs no model."""

    name = "ellipse"

    def make_mask(self, aligned: AlignedFace, settings: FacePopSettings) -> FaceMask:
        region = feathered_face_region(aligned, settings)
        return FaceMask(mask=region, source=self.name)
