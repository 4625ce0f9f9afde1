"""Raw BlazeFace detections (MediaPipe face detection) as Face candidates."""

from __future__ import annotations

import math

import numpy as np

from lib_facepop.detect import blazeface_decode, mediapipe_runtime
from lib_facepop.detect.blazeface_decode import RawDetection
from lib_facepop.detect.graphs import (
    BLAZEFACE_MODELS,
    BOXES_STREAM,
    FULL_RANGE,
    SCORES_STREAM,
    SHORT_RANGE,
)
from lib_facepop.faces import LEFT_EYE, MOUTH, NOSE, RIGHT_EYE, Face, FaceRegion, roll_from_eyes

# BlazeFace keypoint order. MediaPipe names them from the person's point of view, so its
# "right eye" (0) is the one on the viewer's left: our "left_eye".
_KEYPOINT_NAMES = (LEFT_EYE, RIGHT_EYE, NOSE, MOUTH, "left_ear", "right_ear")


# The lowest score proposals go down to; callers ask for their own minimum above it.
PROPOSAL_GRAPH_FLOOR = 0.2
# What MediaPipe's stock face detection graphs (mediapipe 0.10.11) report at the least,
# whatever min_detection_confidence says: detect_candidates reproduces them.
STOCK_MIN_SCORE = {SHORT_RANGE: 0.5, FULL_RANGE: 0.6}


def detect_candidates(image: np.ndarray, model_selection: int = FULL_RANGE,
                      min_score: float = 0.0) -> list[Face]:
    """BlazeFace detections in an RGB image, in its pixel coordinates, as MediaPipe's stock
    face detection graph reports them (nothing under STOCK_MIN_SCORE; overlapping
    detections averaged), scored ``min_score`` and up.
    """
    found = _raw_detections(image, model_selection, STOCK_MIN_SCORE[model_selection],
                            weighted=True, copy=0)
    return _faces(found, image, min_score)


def propose_candidates(image: np.ndarray, min_score: float,
                       model_selection: int = SHORT_RANGE,
                       copy: int = 0) -> list[Face]:
    """BlazeFace detections scored ``min_score`` and up (as low as PROPOSAL_GRAPH_FLOOR);
    of overlapping ones only the best is kept.

    Weak detections are proposals to confirm, not faces. ``copy`` picks the graph copy
    (see parallel.py).
    """
    if min_score < PROPOSAL_GRAPH_FLOOR:
        raise ValueError(f"proposals go down to {PROPOSAL_GRAPH_FLOOR}, asked for {min_score}")
    found = _raw_detections(image, model_selection, PROPOSAL_GRAPH_FLOOR, weighted=False,
                            copy=copy)
    return _faces(found, image, min_score)


def _raw_detections(image: np.ndarray, model_selection: int, floor: float, weighted: bool,
                    copy: int) -> list[RawDetection]:
    outputs = mediapipe_runtime.blazeface(model_selection, copy).process(image)
    boxes, scores = outputs[BOXES_STREAM], outputs[SCORES_STREAM]
    if boxes is None or scores is None:
        return []
    height, width = image.shape[:2]
    return blazeface_decode.detections(boxes, scores, BLAZEFACE_MODELS[model_selection],
                                       (width, height), floor, weighted)


def _faces(detections: list[RawDetection], image: np.ndarray, min_score: float) -> list[Face]:
    height, width = image.shape[:2]
    faces = []
    for detection in detections:
        face = _to_face(detection, width, height)
        if face is not None and face.score >= min_score:
            faces.append(face)
    return faces


def _to_face(detection: RawDetection, width: int, height: int) -> Face | None:
    xmin, ymin, box_width, box_height = detection.box
    bw, bh = box_width * width, box_height * height
    if bw <= 0 or bh <= 0:
        return None
    center = (xmin * width + bw / 2.0, ymin * height + bh / 2.0)
    points = {name: (float(x) * width, float(y) * height)
              for name, (x, y) in zip(_KEYPOINT_NAMES, detection.keypoints, strict=True)}
    roll = roll_from_eyes(points[LEFT_EYE], points[RIGHT_EYE])
    # BlazeFace's box is axis-aligned around a possibly tilted face; shrink it to the
    # upright face whose bounding box it is.
    r = math.radians(roll)
    spread = abs(math.cos(r)) + abs(math.sin(r))
    region = FaceRegion(center=center, size=(bw / spread, bh / spread), angle=roll)
    return Face(region=region, score=detection.score, landmarks=points, source="blazeface")
