"""Face detection: MediaPipe passes, landmark refinement, merging and selection."""

from __future__ import annotations

from lib_facepop.detect.aggressive import AggressiveDetector
from lib_facepop.detect.base import DetectionOptions, FaceDetector
from lib_facepop.detect.selection import non_max_suppression, select_faces
from lib_facepop.detect.single_pass import SinglePassDetector
from lib_facepop.settings import FacePopSettings


def create_detector(settings: FacePopSettings) -> FaceDetector:
    """The detector the settings ask for: aggressive (the default) or a single pass."""
    if settings.aggressive_detection:
        return AggressiveDetector()
    return SinglePassDetector()


__all__ = [
    "AggressiveDetector",
    "DetectionOptions",
    "FaceDetector",
    "SinglePassDetector",
    "create_detector",
    "non_max_suppression",
    "select_faces",
]
