"""Test pictures built with OpenCV alone (independent of the code under test), with the
true place of the face they show."""

from __future__ import annotations

import math

import cv2
import numpy as np

from lib_facepop.faces import normalize_angle


def turn_unclipped(image: np.ndarray, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """The image turned counter-clockwise on screen by ``degrees`` on a canvas that holds
    all of it, and the 3x3 matrix taking continuous source coordinates to the canvas."""
    h, w = image.shape[:2]
    r = math.radians(degrees)
    new_w = int(math.ceil(round(abs(w * math.cos(r)) + abs(h * math.sin(r)), 6)))
    new_h = int(math.ceil(round(abs(w * math.sin(r)) + abs(h * math.cos(r)), 6)))
    # OpenCV puts pixel centres at integers: its centre of the image is ((w-1)/2, (h-1)/2).
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), degrees, 1.0)
    matrix[0, 2] += (new_w - w) / 2.0
    matrix[1, 2] += (new_h - h) / 2.0
    turned = cv2.warpAffine(image, matrix, (new_w, new_h), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
    return turned, _continuous(matrix)


def paste_scaled(frame: np.ndarray, photo: np.ndarray, photo_point: tuple[float, float],
                 frame_point: tuple[float, float], scale: float,
                 degrees: float = 0.0) -> np.ndarray:
    """Paste ``photo`` into ``frame`` (in place) scaled and turned about ``photo_point``,
    which lands on ``frame_point``; return the 3x3 map of continuous coordinates."""
    px, py = photo_point[0] - 0.5, photo_point[1] - 0.5
    matrix = cv2.getRotationMatrix2D((px, py), degrees, scale)
    matrix[:, 2] += (frame_point[0] - 0.5 - px, frame_point[1] - 0.5 - py)
    h, w = frame.shape[:2]
    moved = cv2.warpAffine(photo, matrix, (w, h), flags=cv2.INTER_AREA)
    inside = cv2.warpAffine(np.full(photo.shape[:2], 255, np.uint8), matrix, (w, h),
                            flags=cv2.INTER_NEAREST) > 0
    frame[inside] = moved[inside]
    return _continuous(matrix)


def _continuous(matrix: np.ndarray) -> np.ndarray:
    full = np.vstack([matrix, [0.0, 0.0, 1.0]])
    full[:2, 2] += 0.5 - full[:2, :2] @ np.array([0.5, 0.5])
    return full


def moved(matrix: np.ndarray, point: tuple[float, float]) -> np.ndarray:
    return matrix[:2, :2] @ np.asarray(point, float) + matrix[:2, 2]


def turned_roll(roll: float, degrees: float) -> float:
    return normalize_angle(roll + degrees)
