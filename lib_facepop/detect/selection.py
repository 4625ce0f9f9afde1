"""Merging duplicate faces, and choosing which faces to process in which order."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lib_facepop.detect.base import DetectionOptions
from lib_facepop.faces import Face


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two [x0, y0, x1, y1] boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def center_distance(a: Face, b: Face) -> float:
    return float(np.hypot(a.center[0] - b.center[0], a.center[1] - b.center[1]))


def same_face(a: Face, b: Face, iou_threshold: float = 0.3) -> bool:
    """Whether two detections are the same face: overlapping boxes, or one's centre lies
    well inside the other face (a rotated pass can give a looser box for the same face)."""
    if box_iou(a.box, b.box) >= iou_threshold:
        return True
    return center_distance(a, b) < 0.35 * min(a.size, b.size)


def non_max_suppression(faces: Sequence[Face], iou_threshold: float = 0.3) -> list[Face]:
    """Keep the best-scoring face of every group of detections of the same face.

    Faces confirmed by landmarks rank above unconfirmed ones, then by score.
    """
    ranked = sorted(faces, key=lambda f: (f.mesh is not None, f.score), reverse=True)
    kept: list[Face] = []
    for face in ranked:
        if not any(same_face(face, other, iou_threshold) for other in kept):
            kept.append(face)
    return kept


def select_faces(faces: Sequence[Face], options: DetectionOptions) -> list[Face]:
    """Drop faces that are too small or not confident enough, order them, and keep at most
    ``options.max_faces`` (0 = all)."""
    eligible = [f for f in faces
                if f.score >= options.confidence and f.size >= options.min_face_size]
    if options.order == "largest":
        eligible.sort(key=lambda f: f.size, reverse=True)
    elif options.order == "left_to_right":
        eligible.sort(key=lambda f: (f.box[0], f.box[1]))
    elif options.order == "confidence":
        eligible.sort(key=lambda f: f.score, reverse=True)
    else:
        raise ValueError(f"unknown face order {options.order!r}")
    if options.max_faces > 0:
        eligible = eligible[:options.max_faces]
    return eligible
