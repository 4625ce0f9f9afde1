"""How visible a seam is: the colour difference across the edge of the pasted faces.

Used by the tests and ``bench/bench_colour_match.py`` to give colour match a number. The
pixels outside every mask keep their source values exactly, and the source is continuous
across the edge; so the colour step a viewer sees at the seam is how far the composite
departs from the source just inside the edge. It is measured on the inner half of the soft
edge (blended mask 0.5 to 0.95: the processed face dominates but still meets the untouched
image), after a Gaussian blur of sigma 2 px of both pictures (colour, not texture), as the
mean CIEDE2000 difference.
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.color import deltaE_ciede2000, rgb2lab

BAND = (0.5, 0.95)
BLUR_SIGMA = 2.0


def seam_band(face_mask: np.ndarray) -> np.ndarray:
    """bool (H, W): the inner half of the blended masks' soft edge."""
    return (face_mask >= BAND[0]) & (face_mask < BAND[1])


def seam_colour_difference(source: np.ndarray, composite: np.ndarray,
                           face_mask: np.ndarray) -> float:
    """Mean CIEDE2000 between composite and source on the seam band (see module text)."""
    band = seam_band(face_mask)
    if not band.any():
        raise ValueError("the face mask has no soft edge to measure")
    blurred = [cv2.GaussianBlur(image, (0, 0), BLUR_SIGMA)[band] for image in
               (source, composite)]
    lab_source, lab_composite = (rgb2lab(pixels[:, None, :]) for pixels in blurred)
    return float(np.mean(deltaE_ciede2000(lab_source, lab_composite)))
