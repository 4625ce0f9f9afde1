"""The interface of a face detector, and the options every detector understands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from lib_facepop.faces import Face
from lib_facepop.settings import FacePopSettings


@dataclass(frozen=True)
class DetectionOptions:
    confidence: float = 0.5
    min_face_size: int = 0
    max_faces: int = 0
    order: str = "largest"

    @staticmethod
    def from_settings(settings: FacePopSettings) -> DetectionOptions:
        return DetectionOptions(confidence=settings.confidence,
                                min_face_size=settings.min_face_size,
                                max_faces=settings.max_faces, order=settings.face_order)


class FaceDetector(Protocol):
    """Finds faces in an RGB uint8 image; returns them in source-image pixels."""

    name: str

    def detect(self, image: np.ndarray, options: DetectionOptions) -> list[Face]:
        """Every face at or above ``options.confidence``, not yet ordered or limited."""
        ...
