"""A demo scene built from a real photo that scikit-image ships, so FacePop can be seen
working on a fresh machine without the user supplying an image."""

from __future__ import annotations

import cv2
import numpy as np

from lib_facepop.errors import FacePopError

SCENE_SIZE = (1280, 720)
# (centre x, centre y, side in pixels, turn in degrees counter-clockwise) of each copy.
PLACEMENTS = (
    (300, 380, 520, 0.0),
    (760, 300, 330, 35.0),
    (1090, 470, 250, -60.0),
    (700, 610, 170, 180.0),
)


def astronaut() -> np.ndarray:
    """Eileen Collins' NASA portrait (public domain), as shipped by scikit-image."""
    try:
        from skimage import data
    except ImportError as exc:
        raise FacePopError("the demo needs scikit-image: pip install scikit-image") from exc
    return np.ascontiguousarray(data.astronaut())


def demo_scene() -> np.ndarray:
    """One 1280x720 RGB picture with the same face at several sizes and tilts."""
    photo = astronaut()
    width, height = SCENE_SIZE
    backdrop = cv2.resize(photo, (width, width), interpolation=cv2.INTER_CUBIC)
    backdrop = cv2.GaussianBlur(backdrop[(width - height) // 2:][:height], (0, 0), 25)
    scene = (backdrop.astype(np.float32) * 0.45).astype(np.uint8)
    for cx, cy, side, turn in PLACEMENTS:
        _paste_turned(scene, photo, (cx, cy), side, turn)
    return scene


def _paste_turned(scene: np.ndarray, photo: np.ndarray, center: tuple[int, int], side: int,
                  turn: float) -> None:
    h, w = photo.shape[:2]
    rotation = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), turn, side / float(max(w, h)))
    rotation[:, 2] += (center[0] - w / 2.0, center[1] - h / 2.0)
    size = (scene.shape[1], scene.shape[0])
    moved = cv2.warpAffine(photo, rotation, size, flags=cv2.INTER_AREA)
    coverage = cv2.warpAffine(np.full((h, w), 255, np.uint8), rotation, size,
                              flags=cv2.INTER_LINEAR)
    alpha = coverage.astype(np.float32)[:, :, None] / 255.0
    mixed = scene.astype(np.float32) * (1.0 - alpha) + moved.astype(np.float32) * alpha
    scene[:] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
