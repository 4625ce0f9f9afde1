"""One full-range BlazeFace pass over the whole image, refined by the face mesh."""

from __future__ import annotations

import numpy as np

from lib_facepop.detect.base import DetectionOptions
from lib_facepop.detect.blazeface import detect_candidates
from lib_facepop.detect.graph_check import check_mediapipe
from lib_facepop.detect.landmarks import refine_with_mesh
from lib_facepop.detect.selection import non_max_suppression
from lib_facepop.faces import Face


class SinglePassDetector:
    """Plain MediaPipe detection: fast, finds upright faces of moderate size.

    Candidates the face mesh can't confirm are kept with BlazeFace's own keypoints.
    """

    name = "single-pass"

    def detect(self, image: np.ndarray, options: DetectionOptions) -> list[Face]:
        check_mediapipe()
        faces = []
        for candidate in detect_candidates(image, min_score=options.confidence):
            refined = refine_with_mesh(image, candidate)
            faces.append(refined if refined is not None else candidate)
        return non_max_suppression(faces)
