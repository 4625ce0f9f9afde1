"""Raw BlazeFace detections (MediaPipe face detection) as Face candidates."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lib_facepop.detect import mediapipe_runtime
from lib_facepop.faces import LEFT_EYE, MOUTH, NOSE, RIGHT_EYE, Face, FaceRegion, roll_from_eyes

# BlazeFace keypoint order. MediaPipe names them from the person's point of view, so its
# "right eye" (0) is the one on the viewer's left: our "left_eye".
_KEYPOINT_NAMES = (LEFT_EYE, RIGHT_EYE, NOSE, MOUTH, "left_ear", "right_ear")


# The lowest score the proposal graph reports; callers ask for their own minimum above it.
PROPOSAL_GRAPH_FLOOR = 0.2


def detect_candidates(image: np.ndarray, model_selection: int = mediapipe_runtime.FULL_RANGE,
                      min_score: float = 0.0) -> list[Face]:
    """All BlazeFace detections in an RGB image, in its pixel coordinates.

    This is MediaPipe's stock graph, which reports nothing scored under 0.5.
    """
    result = mediapipe_runtime.face_detection(model_selection).process(image)
    return _faces(result.detections, image, min_score)


def propose_candidates(image: np.ndarray, min_score: float,
                       model_selection: int = mediapipe_runtime.SHORT_RANGE,
                       copy: int = 0) -> list[Face]:
    """BlazeFace detections scored ``min_score`` and up (as low as PROPOSAL_GRAPH_FLOOR).

    Weak detections are proposals to confirm, not faces. ``copy`` picks the graph copy
    (see parallel.py).
    """
    if min_score < PROPOSAL_GRAPH_FLOOR:
        raise ValueError(f"proposals go down to {PROPOSAL_GRAPH_FLOOR}, asked for {min_score}")
    solution = mediapipe_runtime.blazeface(model_selection, PROPOSAL_GRAPH_FLOOR, copy)
    return _faces(solution.process(image).detections, image, min_score)


def _faces(detections: Any, image: np.ndarray, min_score: float) -> list[Face]:
    height, width = image.shape[:2]
    faces = []
    for detection in detections or []:
        face = _to_face(detection, width, height)
        if face is not None and face.score >= min_score:
            faces.append(face)
    return faces


def _to_face(detection: Any, width: int, height: int) -> Face | None:
    location = detection.location_data
    box = location.relative_bounding_box
    bw, bh = box.width * width, box.height * height
    if bw <= 0 or bh <= 0:
        return None
    center = (box.xmin * width + bw / 2.0, box.ymin * height + bh / 2.0)
    points = {name: (kp.x * width, kp.y * height)
              for name, kp in zip(_KEYPOINT_NAMES, location.relative_keypoints, strict=False)}
    roll = roll_from_eyes(points[LEFT_EYE], points[RIGHT_EYE]) if len(points) >= 2 else 0.0
    # BlazeFace's box is axis-aligned around a possibly tilted face; shrink it to the
    # upright face whose bounding box it is.
    r = math.radians(roll)
    spread = abs(math.cos(r)) + abs(math.sin(r))
    region = FaceRegion(center=center, size=(bw / spread, bh / spread), angle=roll)
    return Face(region=region, score=float(detection.score[0]), landmarks=points,
                source="blazeface")
