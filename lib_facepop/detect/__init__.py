"""Face detection: MediaPipe passes, landmark refinement, merging and selection."""

from __future__ import annotations

from lib_facepop.detect.base import DetectionOptions, FaceDetector
from lib_facepop.detect.selection import non_max_suppression, select_faces
from lib_facepop.detect.single_pass import SinglePassDetector
from lib_facepop.settings import FacePopSettings


def create_detector(settings: FacePopSettings) -> FaceDetector:
    """The detector the settings ask for."""
    return SinglePassDetector()


__all__ = [
    "DetectionOptions",
    "FaceDetector",
    "SinglePassDetector",
    "create_detector",
    "non_max_suppression",
    "select_faces",
]
