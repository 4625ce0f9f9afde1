"""Colour match: the processed face takes the source's colour and brightness at the seam.

A face pass often shifts a face's colour or brightness a little (a warmer tint, a greyer or
darker cast); blended back, that shows as a tinted patch around the face. The shift is
measured where it shows, on the mask's soft edge (the ring where the processed face fades
into the untouched image), and undone over the whole processed face:

* the model is one affine colour map, ``source = processed @ matrix + offset`` in RGB: white
  balance, exposure, contrast, saturation and hue shifts are all of that form (a
  per-channel fit in CIELAB can't follow a hue turn and measured worse on every shift
  tried, see docs/benchmarks.md, Colour match);
* it is fitted by weighted least squares to the ring's pixels, both pictures blurred a
  little first, so texture the pass added or smoothed does not count, with a ridge term
  that holds the matrix near identity where the ring's colours don't say otherwise (a grey
  photo's ring says nothing about saturation);
* the fifth of the pixels that fit worst is dropped and the map fitted again, so a part of
  the ring the pass really changed (hair restyled) does not count either.

The interior of the face takes no part in the fit, so what the face pass changed inside
the face (skin, make-up, eyes) stays, relative to its surroundings.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# The soft edge: mask values strictly between these, weighted 4m(1-m) (most at m = 0.5).
RING_LOW = 0.02
RING_HIGH = 0.98
MIN_RING_PIXELS = 200
MAX_RING_SAMPLES = 60_000
# Blur before fitting, in pixels of a 720 px face (scaled with the face size).
FIT_BLUR_SIGMA = 3.0
REFERENCE_SIDE = 720.0
# Ridge towards the identity matrix, as a spread of colours (RGB levels): directions in
# which the ring's colours vary much less than this keep the identity.
PRIOR_SPREAD = 10.0
WORST_FIT_DROPPED = 0.2
# A fitted matrix stretching or shrinking colours beyond this is not trusted; only the mean
# difference (an offset) is used then.
SCALE_RANGE = (0.5, 2.0)
# Maps moving no colour by this much (RGB levels) are left alone.
NEGLIGIBLE = 0.5
_CUBE = np.array([[r, g, b] for r in (0, 255) for g in (0, 255) for b in (0, 255)], float)


@dataclass(frozen=True)
class ColourMap:
    """An affine map of RGB colours: ``rgb @ matrix + offset`` (levels 0-255)."""

    matrix: np.ndarray
    offset: np.ndarray

    def apply(self, image: np.ndarray) -> np.ndarray:
        rgb = image.reshape(-1, 3).astype(np.float32)
        mapped = rgb @ self.matrix.astype(np.float32) + self.offset.astype(np.float32)
        return np.clip(np.rint(mapped), 0, 255).astype(np.uint8).reshape(image.shape)

    def largest_change(self) -> float:
        """How far the map moves any colour of the RGB cube, in levels."""
        return float(np.abs(_CUBE @ (self.matrix - np.eye(3)) + self.offset).max())


def ring_weights(mask: np.ndarray) -> np.ndarray:
    """float32 weights of the mask's soft edge: 0 off it, up to 1 half-way across it."""
    m = np.asarray(mask, dtype=np.float32)
    weights = 4.0 * m * (1.0 - m)
    weights[(m <= RING_LOW) | (m >= RING_HIGH)] = 0.0
    return weights


def fit_colour_map(processed: np.ndarray, source: np.ndarray, mask: np.ndarray,
                   valid: np.ndarray | None = None) -> ColourMap | None:
    """The map taking the processed face to the source on the mask's soft edge, or None
    when the edge is too thin to measure or the colours would have to be turned around.
    ``valid`` (bool, optional) limits the measure to where the two may be compared (e.g.
    not where a background was removed)."""
    weights = ring_weights(mask)
    if valid is not None:
        weights = weights * np.asarray(valid, dtype=np.float32)
    where = np.flatnonzero(weights)
    if where.size < MIN_RING_PIXELS:
        return None
    where = where[::max(1, where.size // MAX_RING_SAMPLES)]
    sigma = FIT_BLUR_SIGMA * min(processed.shape[:2]) / REFERENCE_SIDE
    x, y = (cv2.GaussianBlur(image, (0, 0), sigma).reshape(-1, 3)[where].astype(np.float64)
            for image in (processed, source))
    w = weights.ravel()[where].astype(np.float64)
    colour_map = _fit(x, y, w)
    residual = np.linalg.norm(x @ colour_map.matrix + colour_map.offset - y, axis=1)
    keep = residual <= np.quantile(residual, 1.0 - WORST_FIT_DROPPED)
    if keep.sum() >= MIN_RING_PIXELS // 2:
        colour_map = _fit(x[keep], y[keep], w[keep])
    if np.linalg.eigvalsh((colour_map.matrix + colour_map.matrix.T) / 2.0).min() <= 0.0:
        # Some colour direction turned around (e.g. an inverted face): not a drift of
        # colour but another picture, left as it is.
        return None
    scales = np.linalg.svd(colour_map.matrix, compute_uv=False)
    if scales.min() < SCALE_RANGE[0] or scales.max() > SCALE_RANGE[1]:
        offset = np.average(y - x, axis=0, weights=w)
        return ColourMap(matrix=np.eye(3), offset=offset)
    return colour_map


def match_colour(processed: np.ndarray, source: np.ndarray, mask: np.ndarray,
                 valid: np.ndarray | None = None) -> np.ndarray:
    """The processed face (RGB uint8) with the source's colour and brightness at the seam.

    ``source`` is the upright source crop in the same frame, ``mask`` the face's blending
    mask there. Returns ``processed`` itself when there is nothing to correct.
    """
    colour_map = fit_colour_map(processed, source, mask, valid)
    if colour_map is None or colour_map.largest_change() < NEGLIGIBLE:
        return processed
    return colour_map.apply(processed)


def _fit(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> ColourMap:
    """Weighted ridge regression of y on [x, 1], the matrix pulled towards identity."""
    design = np.hstack([x, np.ones((len(x), 1))])
    weighted = design * w[:, None]
    ridge = np.diag([1.0, 1.0, 1.0, 0.0]) * PRIOR_SPREAD ** 2 * w.sum()
    prior = np.vstack([np.eye(3), np.zeros((1, 3))])
    solution = np.linalg.solve(weighted.T @ design + ridge, weighted.T @ y + ridge @ prior)
    return ColourMap(matrix=solution[:3], offset=solution[3])
