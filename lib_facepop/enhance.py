"""Optional filters over a face before its pass (the ``enhance_filter`` setting).

Each filter's strength is set for a face at 720 px and scales with the face size, so the
same setting does the same to a face at any face size.
"""

from __future__ import annotations

import cv2
import numpy as np

REFERENCE_SIDE = 720.0
UNSHARP_SIGMA = 2.0
UNSHARP_AMOUNT = 0.8
BILATERAL_SIGMA_COLOUR = 30.0
BILATERAL_SIGMA_SPACE = 5.0
MEDIAN_SIZE = 5


def enhance(image: np.ndarray, name: str) -> np.ndarray:
    """The face filtered by the named filter; the very same array for "none"."""
    if name == "none":
        return image
    scale = min(image.shape[:2]) / REFERENCE_SIDE
    if name == "unsharp_mask":
        return unsharp_mask(image, sigma=max(0.5, UNSHARP_SIGMA * scale))
    if name == "bilateral":
        return cv2.bilateralFilter(image, d=-1, sigmaColor=BILATERAL_SIGMA_COLOUR,
                                   sigmaSpace=max(1.0, BILATERAL_SIGMA_SPACE * scale))
    if name == "median":
        size = max(3, int(round(MEDIAN_SIZE * scale)) | 1)
        return cv2.medianBlur(image, size)
    raise ValueError(f"unknown enhancement filter {name!r}")


def unsharp_mask(image: np.ndarray, sigma: float, amount: float = UNSHARP_AMOUNT
                 ) -> np.ndarray:
    """image + amount * (image - blurred image)."""
    blurred = cv2.GaussianBlur(image, (0, 0), sigma)
    return cv2.addWeighted(image, 1.0 + amount, blurred, -amount, 0)
