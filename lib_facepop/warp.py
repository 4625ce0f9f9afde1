"""Resampling an image through an affine map, the same way for faces and for masks.

Upscaling uses bicubic interpolation. Strong downscaling first shrinks the image with area
averaging to about twice the target scale, so that fine detail a face pass adds does not
alias when the face is pasted back small.
"""

from __future__ import annotations

import cv2
import numpy as np

from lib_facepop.geometry import Affine

# Below this scale (output pixels per input pixel) the input is pre-shrunk before warping.
_PRESHRINK_BELOW = 0.5


def warp(
    image: np.ndarray,
    transform: Affine,
    output_size: tuple[int, int],
    *,
    border: str = "reflect",
    interpolation: str = "cubic",
) -> np.ndarray:
    """Resample ``image`` so that output pixel p shows input point ``transform^-1(p)``.

    ``output_size`` is (width, height). ``border`` is "reflect" (mirror the image at its
    edges: a plausible picture for a face pass) or "zero". Float inputs stay float; uint8
    stays uint8.
    """
    out_w, out_h = int(output_size[0]), int(output_size[1])
    if out_w <= 0 or out_h <= 0:
        raise ValueError(f"output size must be positive, got {output_size}")
    source, transform = _preshrink(image, transform)
    flags = {"cubic": cv2.INTER_CUBIC, "linear": cv2.INTER_LINEAR}[interpolation]
    border_mode = {"reflect": cv2.BORDER_REFLECT_101, "zero": cv2.BORDER_CONSTANT}[border]
    result = cv2.warpAffine(source, transform.as_cv2(), (out_w, out_h), flags=flags,
                            borderMode=border_mode, borderValue=0)
    if result.ndim == 2 and image.ndim == 3:
        result = result[:, :, None]
    if np.issubdtype(result.dtype, np.floating) and interpolation == "cubic":
        # Bicubic overshoots; a mask or matte must stay within [0, 1].
        low, high = float(image.min(initial=0.0)), float(image.max(initial=1.0))
        result = np.clip(result, low, high)
    return result


def _preshrink(image: np.ndarray, transform: Affine) -> tuple[np.ndarray, Affine]:
    sx, sy = _input_axis_scales(transform)
    if min(sx, sy) >= _PRESHRINK_BELOW:
        return image, transform
    height, width = image.shape[:2]
    new_w = max(1, int(round(width * min(1.0, 2.0 * sx))))
    new_h = max(1, int(round(height * min(1.0, 2.0 * sy))))
    if new_w == width and new_h == height:
        return image, transform
    shrunk = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_AREA)
    if shrunk.ndim == 2 and image.ndim == 3:
        shrunk = shrunk[:, :, None]
    grow_back = Affine.scaling(width / new_w, height / new_h)
    return shrunk, grow_back.then(transform)


def _input_axis_scales(transform: Affine) -> tuple[float, float]:
    """How many output pixels one input pixel spans along the input's x and y axes."""
    m = transform.matrix[:2, :2]
    return float(np.hypot(*m[:, 0])), float(np.hypot(*m[:, 1]))
