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


def feathered_face_region(aligned: AlignedFace, settings: FacePopSettings) -> np.ndarray:
    """float32 (H, W) in [0, 1]: 1 on the face, 0 at and beyond the crop border.

    The soft edge runs from the face ellipse outwards over ``mask_feather`` percent of the
    padding band that is left between the ellipse and the crop border, per axis.
    """
    width, height = aligned.size
    center, (half_w, half_h) = aligned.region_in_aligned()
    cx, cy = float(center[0]), float(center[1])
    room_x = max(min(cx, width - cx), 1.0)
    room_y = max(min(cy, height - cy), 1.0)
    inner_x = min(half_w * REGION_GROWTH, room_x - MIN_FEATHER_PX)
    inner_y = min(half_h * REGION_GROWTH, room_y - MIN_FEATHER_PX)
    inner_x, inner_y = max(inner_x, 1.0), max(inner_y, 1.0)
    feather = settings.mask_feather / 100.0
    outer_x = inner_x + max((room_x - inner_x) * feather, MIN_FEATHER_PX)
    outer_y = inner_y + max((room_y - inner_y) * feather, MIN_FEATHER_PX)
    return soft_ellipse((width, height), (cx, cy), (inner_x, inner_y), (outer_x, outer_y))


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
