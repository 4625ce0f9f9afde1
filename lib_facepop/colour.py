"""Colour match: the processed face takes the source's colour and brightness at the seam.

A face pass often shifts a face's colour or brightness a little (a warmer tint, a greyer or
darker cast); blended back, that shows as a tinted patch around the face. The shift is
measured where it shows, on the mask's soft edge (the ring where the processed face fades
into the untouched image): per CIELAB channel, a straight line ``source = gain * processed
+ offset`` is fitted to the pixels of the ring (weighted least squares on both pictures
blurred a little, so texture the pass added or smoothed does not count; the fifth of the
pixels that fit worst is dropped and the line fitted again, so a part of the ring the pass
really changed does not count either). The whole processed face is then mapped through
those lines. The interior of the face takes no part in the measure, so what the face pass
changed inside the face (skin, make-up, eyes) stays, relative to its surroundings.
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
# Ridge term (Lab units squared): a channel that hardly varies on the ring (a grey photo's
# a and b) keeps a gain near 1 instead of an unstable one.
GAIN_PRIOR = 4.0
GAIN_RANGE = (0.5, 2.0)
WORST_FIT_DROPPED = 0.2
# Corrections smaller than this (Lab units, anywhere in the face's range) are left alone.
NEGLIGIBLE = 0.05


@dataclass(frozen=True)
class ColourMap:
    """Per-channel lines in CIELAB: lab_out = gain * lab_in + offset."""

    gain: np.ndarray
    offset: np.ndarray

    def apply(self, lab: np.ndarray) -> np.ndarray:
        return lab * self.gain.astype(np.float32) + self.offset.astype(np.float32)

    def is_negligible(self) -> bool:
        # The largest change over the Lab range (L 0..100, a and b -128..127).
        ends = np.array([[0.0, -128.0, -128.0], [100.0, 127.0, 127.0]])
        return bool(np.abs(ends * (self.gain - 1.0) + self.offset).max() < NEGLIGIBLE)


def ring_weights(mask: np.ndarray) -> np.ndarray:
    """float32 weights of the mask's soft edge: 0 off it, up to 1 half-way across it."""
    m = np.asarray(mask, dtype=np.float32)
    weights = 4.0 * m * (1.0 - m)
    weights[(m <= RING_LOW) | (m >= RING_HIGH)] = 0.0
    return weights


def fit_colour_map(processed: np.ndarray, source: np.ndarray, mask: np.ndarray,
                   valid: np.ndarray | None = None) -> ColourMap | None:
    """The map taking the processed face to the source on the mask's soft edge, or None
    when the edge is too thin to measure. ``valid`` (bool, optional) limits the measure to
    where the two may be compared (e.g. not where a background was removed)."""
    weights = ring_weights(mask)
    if valid is not None:
        weights = weights * np.asarray(valid, dtype=np.float32)
    where = np.flatnonzero(weights)
    if where.size < MIN_RING_PIXELS:
        return None
    where = where[::max(1, where.size // MAX_RING_SAMPLES)]
    sigma = FIT_BLUR_SIGMA * min(processed.shape[:2]) / REFERENCE_SIDE
    x, y = (cv2.GaussianBlur(to_lab(image), (0, 0), sigma).reshape(-1, 3)[where]
            for image in (processed, source))
    w = weights.ravel()[where].astype(np.float64)
    lines = [_robust_line(x[:, c].astype(np.float64), y[:, c].astype(np.float64), w)
             for c in range(3)]
    return ColourMap(gain=np.array([g for g, _ in lines]),
                     offset=np.array([o for _, o in lines]))


def match_colour(processed: np.ndarray, source: np.ndarray, mask: np.ndarray,
                 valid: np.ndarray | None = None) -> np.ndarray:
    """The processed face (RGB uint8) with the source's colour and brightness at the seam.

    ``source`` is the upright source crop in the same frame, ``mask`` the face's blending
    mask there. Returns ``processed`` itself when there is nothing to correct.
    """
    colour_map = fit_colour_map(processed, source, mask, valid)
    if colour_map is None or colour_map.is_negligible():
        return processed
    return from_lab(colour_map.apply(to_lab(processed)))


def _robust_line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Weighted least squares y = g x + o (g pulled towards 1, within GAIN_RANGE), fitted
    again without the worst-fitting WORST_FIT_DROPPED of the points."""
    gain, offset = _line(x, y, w)
    residual = np.abs(y - (gain * x + offset))
    keep = residual <= np.quantile(residual, 1.0 - WORST_FIT_DROPPED)
    if keep.sum() >= MIN_RING_PIXELS // 2:
        gain, offset = _line(x[keep], y[keep], w[keep])
    return gain, offset


def _line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    mean_x, mean_y = np.average(x, weights=w), np.average(y, weights=w)
    variance = np.average((x - mean_x) ** 2, weights=w)
    covariance = np.average((x - mean_x) * (y - mean_y), weights=w)
    gain = float(np.clip((covariance + GAIN_PRIOR) / (variance + GAIN_PRIOR), *GAIN_RANGE))
    return gain, float(mean_y - gain * mean_x)


def to_lab(image: np.ndarray) -> np.ndarray:
    """RGB uint8 -> CIELAB float32 (L 0..100, a and b about -128..127), D65."""
    return cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def from_lab(lab: np.ndarray) -> np.ndarray:
    rgb = cv2.cvtColor(np.ascontiguousarray(lab, dtype=np.float32), cv2.COLOR_Lab2RGB)
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)
