"""Pasting processed faces back into the source image through their soft masks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib_facepop.geometry import Affine, integer_bounds
from lib_facepop.warp import warp


@dataclass(frozen=True)
class PasteBack:
    """One face to paste: the processed face and its mask, both in the aligned frame."""

    face_image: np.ndarray
    mask: np.ndarray
    to_aligned: Affine
    crop_corners: np.ndarray


@dataclass(frozen=True)
class BlendResult:
    image: np.ndarray
    face_mask: np.ndarray
    """Union (maximum) of all pasted masks in source coordinates, float32 in [0, 1]."""


def blend_faces(image: np.ndarray, faces: list[PasteBack]) -> BlendResult:
    """Composite each processed face into a copy of ``image``.

    Pixels where every mask is 0 keep their exact source values. Faces are pasted in the
    order given, so a later face lies over an earlier one where they overlap.
    """
    height, width = image.shape[:2]
    result = image.copy()
    union = np.zeros((height, width), dtype=np.float32)
    for face in faces:
        x0, y0, x1, y1 = integer_bounds(face.crop_corners, width, height)
        if x1 <= x0 or y1 <= y0:
            continue
        # Source pixels of the window [x0, x1) x [y0, y1) <- aligned pixels.
        window_to_aligned = Affine.translation(x0, y0).then(face.to_aligned)
        to_window = window_to_aligned.inverse()
        size = (x1 - x0, y1 - y0)
        face_px = warp(face.face_image, to_window, size, border="zero", interpolation="cubic")
        mask = warp(np.asarray(face.mask, dtype=np.float32), to_window, size, border="zero",
                    interpolation="linear")
        mask = np.clip(mask, 0.0, 1.0)
        _composite(result[y0:y1, x0:x1], face_px, mask)
        np.maximum(union[y0:y1, x0:x1], mask, out=union[y0:y1, x0:x1])
    return BlendResult(image=result, face_mask=union)


def _composite(target: np.ndarray, face: np.ndarray, mask: np.ndarray) -> None:
    """target <- target + mask * (face - target), in place; exact where mask == 0."""
    inside = mask > 0.0
    if not np.any(inside):
        return
    target[inside] = mix(target[inside], face[inside], mask[inside])


def mix(base: np.ndarray, other: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """``base + alpha * (other - base)`` as uint8: ``base`` exactly where alpha is 0.

    ``alpha`` is a number or one value per pixel (the images' shape without channels).
    """
    weight = np.asarray(alpha, dtype=np.float32)
    if weight.ndim == base.ndim - 1:
        weight = weight[..., None]
    start = base.astype(np.float32)
    mixed = start + weight * (other.astype(np.float32) - start)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
