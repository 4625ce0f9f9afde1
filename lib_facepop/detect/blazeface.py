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


def detect_candidates(image: np.ndarray, model_selection: int = mediapipe_runtime.FULL_RANGE,
                      min_score: float = 0.0) -> list[Face]:
    """All BlazeFace detections in an RGB image, in its pixel coordinates."""
    result = mediapipe_runtime.face_detection(model_selection).process(image)
    height, width = image.shape[:2]
    faces = []
    for detection in result.detections or []:
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
