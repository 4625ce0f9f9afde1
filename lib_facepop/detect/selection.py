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
    """Keep the best-scoring face of every group of detections of the same face (as
    ``same_face`` decides; faces from different passes are compared in source pixels).

    Faces confirmed by landmarks rank above unconfirmed ones, then by score.
    """
    ranked = sorted(faces, key=lambda f: (f.mesh is not None, f.score), reverse=True)
    if len(ranked) < 2:
        return list(ranked)
    same = same_face_matrix(ranked, iou_threshold)
    kept: list[int] = []
    for i in range(len(ranked)):
        if not any(same[i, j] for j in kept):
            kept.append(i)
    return [ranked[i] for i in kept]


def same_face_matrix(faces: Sequence[Face], iou_threshold: float = 0.3) -> np.ndarray:
    """``same_face`` for every pair of faces at once: a boolean (N, N) matrix."""
    boxes = np.array([face.box for face in faces], dtype=np.float64)
    centers = np.array([face.center for face in faces], dtype=np.float64)
    sizes = np.array([face.size for face in faces], dtype=np.float64)
    ix = np.clip(np.minimum(boxes[:, None, 2], boxes[None, :, 2])
                 - np.maximum(boxes[:, None, 0], boxes[None, :, 0]), 0.0, None)
    iy = np.clip(np.minimum(boxes[:, None, 3], boxes[None, :, 3])
                 - np.maximum(boxes[:, None, 1], boxes[None, :, 1]), 0.0, None)
    inter = ix * iy
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = areas[:, None] + areas[None, :] - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    distance = np.hypot(centers[:, None, 0] - centers[None, :, 0],
                        centers[:, None, 1] - centers[None, :, 1])
    return (iou >= iou_threshold) | (distance < 0.35 * np.minimum(sizes[:, None],
                                                                   sizes[None, :]))


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
