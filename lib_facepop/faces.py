"""What a detected face is, as plain data, and the roll convention (docs/design.md section 3.2)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

Point = tuple[float, float]

# Landmark names. "left_eye" is the eye that appears on the viewer's left in an UPRIGHT face
# (the person's right eye); "right_eye" is the other one. The same holds for mouth corners.
LEFT_EYE = "left_eye"
RIGHT_EYE = "right_eye"
NOSE = "nose"
MOUTH = "mouth"


def roll_from_eyes(left_eye: Point, right_eye: Point) -> float:
    """In-plane rotation of a face in degrees, counter-clockwise on screen positive.

    ``left_eye`` is the eye on the viewer's left in an upright face. Pixel coordinates have
    y pointing down. The result lies in (-180, 180]; an upright face has roll 0 and the same
    face upside down has roll 180.
    """
    lx, ly = left_eye
    rx, ry = right_eye
    return normalize_angle(math.degrees(math.atan2(-(ry - ly), rx - lx)))


def normalize_angle(degrees: float) -> float:
    """Map any angle to (-180, 180]."""
    wrapped = math.fmod(degrees, 360.0)
    if wrapped <= -180.0:
        wrapped += 360.0
    elif wrapped > 180.0:
        wrapped -= 360.0
    return 0.0 if wrapped == 0.0 else wrapped


def angle_difference(a: float, b: float) -> float:
    """Smallest absolute difference between two angles in degrees, in [0, 180]."""
    return abs(normalize_angle(a - b))


@dataclass(frozen=True)
class FaceRegion:
    """The face as a rectangle in its own upright frame.

    ``center`` and ``size`` are in source-image pixels; ``angle`` is the face's roll. With
    angle 0 the region is an ordinary axis-aligned box.
    """

    center: Point
    size: tuple[float, float]
    angle: float

    def corners(self) -> np.ndarray:
        """The four corners in source-image coordinates, shape (4, 2)."""
        w, h = self.size
        local = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
        return local @ face_to_image_rotation(self.angle).T + np.asarray(self.center)

    def bounding_box(self) -> tuple[float, float, float, float]:
        corners = self.corners()
        x0, y0 = corners.min(axis=0)
        x1, y1 = corners.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)


def face_to_image_rotation(roll: float) -> np.ndarray:
    """Rotation taking vectors of the upright face frame into the image (y down).

    A face with positive roll is turned counter-clockwise on screen. In y-down pixel
    coordinates that is the matrix [[cos, sin], [-sin, cos]].
    """
    r = math.radians(roll)
    c, s = math.cos(r), math.sin(r)
    return np.array([[c, s], [-s, c]])


@dataclass(frozen=True)
class Face:
    """One detected face in source-image pixels.

    ``box`` is the axis-aligned box [x0, y0, x1, y1] that contains ``region``; ``region`` is
    the face in its own upright frame (what crops are built from). ``mesh`` holds the dense
    landmarks (N, 2) when a landmark model confirmed the face, else None.
    """

    region: FaceRegion
    score: float
    landmarks: Mapping[str, Point] = field(default_factory=dict)
    mesh: np.ndarray | None = field(default=None, compare=False, repr=False)
    source: str = "detector"

    @property
    def box(self) -> tuple[float, float, float, float]:
        return self.region.bounding_box()

    @property
    def roll(self) -> float:
        return self.region.angle

    @property
    def center(self) -> Point:
        return self.region.center

    @property
    def size(self) -> float:
        """A single size: the geometric mean of the upright face's width and height."""
        w, h = self.region.size
        return math.sqrt(w * h)

    def to_json(self) -> dict:
        """The face as docs/design.md section 3.1 prints it."""
        x0, y0, x1, y1 = self.box
        return {
            "box": [_round(x0), _round(y0), _round(x1), _round(y1)],
            "score": round(float(self.score), 4),
            "roll": round(float(self.roll), 2),
            "landmarks": {name: [_round(x), _round(y)] for name, (x, y) in
                          self.landmarks.items()},
        }


def _round(value: float) -> float:
    return round(float(value), 2)
