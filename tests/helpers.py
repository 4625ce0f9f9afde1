"""Helpers shared by tests."""

from __future__ import annotations

import math

import cv2
import numpy as np


def rotate_unclipped(image: np.ndarray, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """Turn an image counter-clockwise on screen on a canvas that clips nothing.

    Returns the turned image and the 2x3 matrix (OpenCV pixel-centre convention) that maps
    source pixel indices to turned ones.
    """
    h, w = image.shape[:2]
    r = math.radians(degrees)
    new_w = int(math.ceil(abs(w * math.cos(r)) + abs(h * math.sin(r))))
    new_h = int(math.ceil(abs(w * math.sin(r)) + abs(h * math.cos(r))))
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), degrees, 1.0)
    matrix[0, 2] += (new_w - w) / 2.0
    matrix[1, 2] += (new_h - h) / 2.0
    turned = cv2.warpAffine(image, matrix, (new_w, new_h), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REFLECT_101)
    return turned, matrix


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    diff = a.astype(np.float64) - b.astype(np.float64)
    mse = float(np.mean(diff ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(255.0 ** 2 / mse)
