"""Crop boxes, padding, and the affine transforms between a source image and a face crop.

Coordinates are continuous pixel coordinates: pixel (i, j) covers [i, i+1) x [j, j+1), so
its centre is (i + 0.5, j + 0.5). MediaPipe's relative coordinates times the image size are
in this convention. OpenCV indexes pixel centres at integers; ``Affine.as_cv2`` converts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lib_facepop.faces import FaceRegion, Point, face_to_image_rotation


@dataclass(frozen=True)
class Affine:
    """A 2-D affine map, stored as a 3x3 homogeneous matrix."""

    matrix: np.ndarray

    def __post_init__(self) -> None:
        m = np.asarray(self.matrix, dtype=np.float64)
        if m.shape == (2, 3):
            m = np.vstack([m, [0.0, 0.0, 1.0]])
        if m.shape != (3, 3):
            raise ValueError(f"an affine matrix is 2x3 or 3x3, got {m.shape}")
        object.__setattr__(self, "matrix", m)

    @staticmethod
    def identity() -> Affine:
        return Affine(np.eye(3))

    @staticmethod
    def translation(dx: float, dy: float) -> Affine:
        return Affine(np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]]))

    @staticmethod
    def scaling(sx: float, sy: float) -> Affine:
        return Affine(np.diag([sx, sy, 1.0]))

    @staticmethod
    def linear(matrix2x2: np.ndarray) -> Affine:
        m = np.eye(3)
        m[:2, :2] = matrix2x2
        return Affine(m)

    def then(self, other: Affine) -> Affine:
        """This map followed by ``other``."""
        return Affine(other.matrix @ self.matrix)

    def inverse(self) -> Affine:
        return Affine(np.linalg.inv(self.matrix))

    def apply(self, points: np.ndarray | Point) -> np.ndarray:
        """Map points of shape (..., 2)."""
        pts = np.asarray(points, dtype=np.float64)
        return pts @ self.matrix[:2, :2].T + self.matrix[:2, 2]

    @property
    def scale(self) -> float:
        """Mean linear scale factor (square root of the area ratio)."""
        return math.sqrt(abs(float(np.linalg.det(self.matrix[:2, :2]))))

    def axis_scales(self) -> tuple[float, float]:
        """How much the map stretches each output axis relative to the input."""
        m = self.matrix[:2, :2]
        return float(np.hypot(*m[0])), float(np.hypot(*m[1]))

    def as_cv2(self) -> np.ndarray:
        """2x3 matrix for cv2.warpAffine, which puts pixel centres at integer coordinates."""
        shift = Affine.translation(0.5, 0.5)
        return shift.then(self).then(Affine.translation(-0.5, -0.5)).matrix[:2]


@dataclass(frozen=True)
class FaceCrop:
    """A rotated rectangle of the source image and the size it is resampled to.

    ``size`` is in source pixels along the crop's own axes; ``angle`` is how far the crop is
    turned (counter-clockwise on screen, like a face's roll); ``output_size`` is the
    aligned image's (width, height) in pixels.
    """

    center: Point
    size: tuple[float, float]
    angle: float
    output_size: tuple[int, int]

    def to_aligned(self) -> Affine:
        """The map from source-image coordinates to aligned-image coordinates."""
        cx, cy = self.center
        w, h = self.size
        out_w, out_h = self.output_size
        to_frame = Affine.linear(face_to_image_rotation(self.angle).T)
        return (Affine.translation(-cx, -cy)
                .then(to_frame)
                .then(Affine.scaling(out_w / w, out_h / h))
                .then(Affine.translation(out_w / 2.0, out_h / 2.0)))

    def corners(self) -> np.ndarray:
        """The crop's corners in source coordinates, shape (4, 2)."""
        return FaceRegion(self.center, self.size, self.angle).corners()

    def contains(self, points: np.ndarray, tolerance: float = 1e-6) -> bool:
        """Whether every point (source coordinates) lies inside the crop."""
        local = self.to_aligned().apply(points)
        out_w, out_h = self.output_size
        tol_x = tolerance * out_w / self.size[0]
        tol_y = tolerance * out_h / self.size[1]
        return bool(np.all((local[..., 0] >= -tol_x) & (local[..., 0] <= out_w + tol_x)
                           & (local[..., 1] >= -tol_y) & (local[..., 1] <= out_h + tol_y)))


def crop_for_face(
    region: FaceRegion,
    *,
    padding_fraction: float,
    output_size: tuple[int, int],
    keep_aspect_ratio: bool,
    angle: float,
) -> FaceCrop:
    """The crop around a face region.

    The crop is turned by ``angle`` (the face's roll to make it upright, or 0 to leave it
    as it is). It holds the whole face region, plus ``padding_fraction`` of the region's
    extent on every side; with ``keep_aspect_ratio`` it then grows along one axis to the
    output's aspect ratio, so that the face is scaled, never stretched.
    """
    if padding_fraction < 0:
        raise ValueError(f"padding must not be negative, got {padding_fraction}")
    out_w, out_h = output_size
    if out_w <= 0 or out_h <= 0:
        raise ValueError(f"output size must be positive, got {output_size}")
    rotate_in = face_to_image_rotation(angle).T
    local = (region.corners() - np.asarray(region.center)) @ rotate_in.T
    half_w = max(float(np.abs(local[:, 0]).max()), 0.5)
    half_h = max(float(np.abs(local[:, 1]).max()), 0.5)
    width = 2.0 * half_w * (1.0 + 2.0 * padding_fraction)
    height = 2.0 * half_h * (1.0 + 2.0 * padding_fraction)
    if keep_aspect_ratio:
        target = out_w / out_h
        if width / height < target:
            width = height * target
        else:
            height = width / target
    return FaceCrop(center=region.center, size=(width, height), angle=angle,
                    output_size=(int(out_w), int(out_h)))


def integer_bounds(points: np.ndarray, width: int, height: int) -> tuple[int, int, int, int]:
    """Smallest pixel rectangle [x0, x1) x [y0, y1) inside the image covering the points.

    Returns an empty rectangle (x0 == x1 or y0 == y1) when the points miss the image.
    """
    x0 = int(math.floor(float(points[:, 0].min())))
    y0 = int(math.floor(float(points[:, 1].min())))
    x1 = int(math.ceil(float(points[:, 0].max())))
    y1 = int(math.ceil(float(points[:, 1].max())))
    x0, x1 = max(0, min(x0, width)), max(0, min(x1, width))
    y0, y1 = max(0, min(y0, height)), max(0, min(y1, height))
    return x0, y0, max(x0, x1), max(y0, y1)
