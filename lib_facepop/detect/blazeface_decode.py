"""BlazeFace's raw outputs turned into face detections, as MediaPipe's face detection graph
does it (its TensorsToDetections, NonMaxSuppression and DetectionProjection calculators),
in float32 like MediaPipe, so the detections are MediaPipe's to float precision.

MediaPipe's calculators hand their detections over as protobuf messages, which not every
mediapipe/protobuf pairing can read back in Python (docs/design.md section 4); this module
needs only the model's two float outputs (graphs.blazeface_config_text).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from lib_facepop.detect.graphs import BLAZEFACE_COORDS, BlazeFaceModel

# MediaPipe's face detection graphs: scores are logits clipped to +-100 before the
# sigmoid; detections overlapping by more than this IoU are one face.
SCORE_CLIPPING = np.float32(100.0)
SUPPRESSION_IOU = np.float32(0.3)
KEYPOINTS = 6

_F32 = np.float32


@dataclass(frozen=True)
class RawDetection:
    """One BlazeFace detection relative to the image (0..1 across its width and height):
    the box's left, top, width and height; 6 keypoints (right eye, left eye, nose tip,
    mouth centre, right ear, left ear, as MediaPipe names them from the person's point of
    view), shape (6, 2); and the score."""

    box: tuple[float, float, float, float]
    keypoints: np.ndarray
    score: float


@functools.lru_cache(maxsize=4)
def anchor_centres(model: BlazeFaceModel) -> np.ndarray:
    """The (x, y) centre of every anchor in the model's output order, shape (N, 2)."""
    layers = []
    for cells, per_cell in model.anchor_grids:
        centres = (np.arange(cells, dtype=_F32) + _F32(0.5)) / _F32(cells)
        ys, xs = np.meshgrid(centres, centres, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        layers.append(np.repeat(grid, per_cell, axis=0))
    anchors = np.concatenate(layers).astype(_F32)
    anchors.flags.writeable = False
    return anchors


def detections(raw_boxes: np.ndarray, raw_scores: np.ndarray, model: BlazeFaceModel,
               image_size: tuple[int, int], min_score: float,
               weighted: bool) -> list[RawDetection]:
    """Detections scored ``min_score`` and up in an image of ``image_size`` (width, height)
    that the graph letterboxed into the model's square input.

    ``weighted`` picks MediaPipe's weighted non-maximum suppression (a face's box and
    keypoints are the score-weighted mean of all detections overlapping it; the stock
    face detection graph) over plain suppression (the best-scored detection wins).
    """
    boxes, keypoints, scores = _decode(raw_boxes, raw_scores, model, min_score)
    order = np.argsort(-scores, kind="stable")
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    if weighted:
        boxes, keypoints, scores = _weighted_suppression(boxes, keypoints, scores)
    else:
        kept = _suppression(boxes)
        boxes, keypoints, scores = boxes[kept], keypoints[kept], scores[kept]
    boxes, keypoints = _unletterbox(boxes, keypoints, image_size)
    return [RawDetection(box=tuple(float(v) for v in box), keypoints=points.astype(float),
                         score=float(score))
            for box, points, score in zip(boxes, keypoints, scores, strict=True)]


def _decode(raw_boxes: np.ndarray, raw_scores: np.ndarray, model: BlazeFaceModel,
            min_score: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (xmin, ymin, width, height), keypoints and scores of the anchors scored
    ``min_score`` and up, in the model's input square (0..1)."""
    anchors = anchor_centres(model)
    raw = np.asarray(raw_boxes, dtype=_F32).reshape(model.num_boxes, BLAZEFACE_COORDS)
    logits = np.clip(np.asarray(raw_scores, dtype=_F32).reshape(model.num_boxes),
                     -SCORE_CLIPPING, SCORE_CLIPPING)
    with np.errstate(over="ignore"):
        scores = _F32(1.0) / (_F32(1.0) + np.exp(-logits))
    scale = _F32(model.input_size)
    # The model's boxes are x centre, y centre, width, height, relative to the anchor.
    centre = raw[:, 0:2] / scale + anchors
    size = raw[:, 2:4] / scale
    low = centre - size / _F32(2.0)
    high = centre + size / _F32(2.0)
    points = (raw[:, 4:4 + 2 * KEYPOINTS].reshape(-1, KEYPOINTS, 2) / scale
              + anchors[:, None, :])
    extent = high - low
    keep = (scores >= _F32(min_score)) & np.all(extent >= 0, axis=1)
    boxes = np.concatenate([low, extent], axis=1)
    return boxes[keep], points[keep], scores[keep]


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Intersection over union of ``box`` with each of ``others`` (xmin, ymin, w, h); with
    ``box`` of shape (N, 1, 4) and ``others`` (M, 4), every pair, shape (N, M)."""
    left = np.maximum(box[..., 0], others[:, 0])
    top = np.maximum(box[..., 1], others[:, 1])
    right = np.minimum(box[..., 0] + box[..., 2], others[:, 0] + others[:, 2])
    bottom = np.minimum(box[..., 1] + box[..., 3], others[:, 1] + others[:, 3])
    intersection = np.maximum(right - left, _F32(0)) * np.maximum(bottom - top, _F32(0))
    union = box[..., 2] * box[..., 3] + others[:, 2] * others[:, 3] - intersection
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, intersection / union, _F32(0))


def _suppression(boxes: np.ndarray) -> list[int]:
    """Indices of the detections (sorted best first) that no better kept one overlaps."""
    overlaps = _iou(boxes[:, None, :], boxes) > SUPPRESSION_IOU
    suppressed = np.zeros(len(boxes), dtype=bool)
    kept: list[int] = []
    for index in range(len(boxes)):
        if not suppressed[index]:
            kept.append(index)
            suppressed |= overlaps[index]
    return kept


def _weighted_suppression(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One detection per cluster of overlapping ones (sorted best first): the best one's
    score, with box corners and keypoints averaged over the cluster, weighted by score."""
    out_boxes, out_points, out_scores = [], [], []
    remaining = np.arange(len(scores))
    while remaining.size:
        best = remaining[0]
        overlapping = _iou(boxes[best], boxes[remaining]) > SUPPRESSION_IOU
        cluster = remaining[overlapping]
        box, points = boxes[best], keypoints[best]
        if cluster.size:
            weights = scores[cluster]
            total = _sum(weights)
            corners = np.concatenate([boxes[cluster, :2], boxes[cluster, :2]
                                      + boxes[cluster, 2:]], axis=1)
            low_high = _sum(corners * weights[:, None]) / total
            box = np.concatenate([low_high[:2], low_high[2:] - low_high[:2]])
            points = _sum(keypoints[cluster] * weights[:, None, None]) / total
        out_boxes.append(box)
        out_points.append(points)
        out_scores.append(scores[best])
        if not cluster.size:  # MediaPipe stops when a detection doesn't even match itself
            break
        remaining = remaining[~overlapping]
    return (np.array(out_boxes, dtype=_F32).reshape(-1, 4),
            np.array(out_points, dtype=_F32).reshape(-1, KEYPOINTS, 2),
            np.array(out_scores, dtype=_F32))


def _sum(values: np.ndarray) -> np.ndarray:
    """Sum over the first axis, one value after the other in float32 (as MediaPipe adds)."""
    total = np.zeros(values.shape[1:], dtype=_F32)
    for value in values:
        total = total + value
    return total


def _unletterbox(boxes: np.ndarray, keypoints: np.ndarray, image_size: tuple[int, int]
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Boxes and keypoints from the letterboxed square input to the image (relative).

    The square is the image padded equally on both sides of its shorter dimension.
    """
    width, height = (_F32(v) for v in image_size)
    side = max(width, height)
    scale = np.array([side / width, side / height], dtype=_F32)
    offset = np.array([(_F32(0.5) * width - _F32(0.5) * side) / width,
                       (_F32(0.5) * height - _F32(0.5) * side) / height], dtype=_F32)
    low = boxes[:, :2] * scale + offset
    high = (boxes[:, :2] + boxes[:, 2:]) * scale + offset
    return (np.concatenate([low, high - low], axis=1),
            keypoints * scale + offset)
