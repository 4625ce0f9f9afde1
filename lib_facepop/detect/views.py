"""What a detection pass looks at: scaled, rotated and tiled copies of the source image.

Every view carries the affine map from its own pixel coordinates back to the source image
(continuous pixel coordinates, as in geometry.py), so a face found in any view can be put
back where it belongs. Rotations turn the image on a canvas large enough to hold all of it:
nothing is clipped, and quarter turns move pixels without resampling them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from lib_facepop.faces import Face, FaceRegion, face_to_image_rotation, normalize_angle
from lib_facepop.geometry import Affine, FaceCrop, integer_bounds
from lib_facepop.warp import warp

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, half-open

# OpenCV's exact rotations by 1, 2 and 3 quarter turns counter-clockwise on screen.
_QUARTER_TURNS = {1: cv2.ROTATE_90_COUNTERCLOCKWISE, 2: cv2.ROTATE_180,
                  3: cv2.ROTATE_90_CLOCKWISE}


@dataclass(frozen=True)
class View:
    """Pixels a model looks at, and the map from their coordinates to the source image."""

    pixels: np.ndarray
    to_source: Affine
    label: str = ""

    @property
    def size(self) -> tuple[int, int]:
        return int(self.pixels.shape[1]), int(self.pixels.shape[0])


def scaled(image: np.ndarray, scale: float) -> View:
    """The image resized by ``scale`` (area averaging when shrinking)."""
    height, width = image.shape[:2]
    return resized(image, scaled_size(width, height, scale))


def scaled_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """The whole-pixel size of a width x height image resized by ``scale``."""
    return max(1, int(round(width * scale))), max(1, int(round(height * scale)))


def resized(image: np.ndarray, size: tuple[int, int]) -> View:
    """The image resized to ``size`` (width, height), area averaging when shrinking."""
    height, width = image.shape[:2]
    new_w, new_h = int(size[0]), int(size[1])
    if (new_w, new_h) == (width, height):
        return View(image, Affine.identity(), "scale 1")
    shrinking = new_w * new_h < width * height
    pixels = cv2.resize(image, (new_w, new_h),
                        interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return View(pixels, Affine.scaling(width / new_w, height / new_h),
                f"scale {new_w / width:.3g}")


def rotated_canvas_size(width: int, height: int, degrees: float) -> tuple[int, int]:
    """Size of the smallest canvas that holds a width x height image turned by ``degrees``."""
    r = math.radians(degrees)
    c, s = abs(math.cos(r)), abs(math.sin(r))
    # Round away float noise first, so that quarter turns give exact sizes.
    new_w = math.ceil(round(width * c + height * s, 6))
    new_h = math.ceil(round(width * s + height * c, 6))
    return max(1, new_w), max(1, new_h)


def rotation_onto_canvas(width: int, height: int, degrees: float) -> tuple[Affine, tuple[int, int]]:
    """The map from image coordinates to those of the image turned counter-clockwise (on
    screen) by ``degrees`` about its centre, on a canvas that clips nothing; and that
    canvas's size."""
    canvas_w, canvas_h = rotated_canvas_size(width, height, degrees)
    turn = face_to_image_rotation(degrees)
    if _quarter_turns(degrees) is not None:
        turn = np.round(turn)  # exact 0 and +-1 instead of 6e-17
    to_canvas = (Affine.translation(-width / 2.0, -height / 2.0)
                 .then(Affine.linear(turn))
                 .then(Affine.translation(canvas_w / 2.0, canvas_h / 2.0)))
    return to_canvas, (canvas_w, canvas_h)


def rotated(image: np.ndarray, degrees: float) -> View:
    """The image turned counter-clockwise on screen by ``degrees``, on an unclipped canvas.

    A face with roll r in the image has roll r + degrees in the view. Quarter turns are
    exact pixel moves; other angles are resampled bilinearly with a black surround (a
    mirrored surround could show mirrored faces).
    """
    height, width = image.shape[:2]
    to_canvas, canvas_size = rotation_onto_canvas(width, height, degrees)
    label = f"turn {normalize_angle(degrees):g}"
    quarters = _quarter_turns(degrees)
    if quarters == 0:
        return View(image, Affine.identity(), label)
    if quarters is not None:
        pixels = cv2.rotate(image, _QUARTER_TURNS[quarters])
    else:
        pixels = warp(image, to_canvas, canvas_size, border="zero", interpolation="linear")
    return View(pixels, to_canvas.inverse(), label)


def _quarter_turns(degrees: float) -> int | None:
    """How many quarter turns (0-3) ``degrees`` is, or None if it is no whole number."""
    quarters = degrees / 90.0
    if abs(quarters - round(quarters)) > 1e-9:
        return None
    return int(round(quarters)) % 4


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of ``tile`` pixels covering ``length`` pixels, neighbours
    overlapping by about ``overlap`` pixels (at least 95 % of it), spread evenly."""
    if tile <= overlap:
        raise ValueError(f"a tile ({tile}) must be larger than the overlap ({overlap})")
    if length <= tile:
        return [0]
    count = max(2, math.ceil((length - overlap) / (tile - overlap)))
    # A few per cent less overlap than asked is fine; a whole extra row of tiles is not.
    if count > 2 and ((count - 1) * tile - length) / (count - 2) >= 0.95 * overlap:
        count -= 1
    step = (length - tile) / (count - 1)
    return [int(round(i * step)) for i in range(count)]


def tile_rects(width: int, height: int, tile: int, overlap: int) -> list[Rect]:
    """Tiles (x0, y0, x1, y1) covering a width x height image, overlapping as asked."""
    xs = tile_starts(width, tile, overlap)
    ys = tile_starts(height, tile, overlap)
    return [(x, y, min(x + tile, width), min(y + tile, height)) for y in ys for x in xs]


def tile_of(view: View, rect: Rect) -> View:
    """The part of a view inside ``rect``, mapping back to the same source."""
    x0, y0, x1, y1 = rect
    pixels = view.pixels[y0:y1, x0:x1]
    label = f"{view.label} tile {x0},{y0}".strip()
    return View(pixels, Affine.translation(x0, y0).then(view.to_source), label)


def similarity_parts(transform: Affine) -> tuple[float, float]:
    """(scale, rotation in degrees counter-clockwise on screen) of a similarity map."""
    m = transform.matrix[:2, :2]
    # face_to_image_rotation(a) * k == [[k cos, k sin], [-k sin, k cos]]
    angle = math.degrees(math.atan2(m[0, 1] - m[1, 0], m[0, 0] + m[1, 1]))
    return transform.scale, normalize_angle(angle)


def face_to_source(face: Face, view_to_source: Affine) -> Face:
    """A face found in a view, in source-image coordinates."""
    scale, turn = similarity_parts(view_to_source)
    center = view_to_source.apply(face.center)
    region = FaceRegion(center=(float(center[0]), float(center[1])),
                        size=(face.region.size[0] * scale, face.region.size[1] * scale),
                        angle=normalize_angle(face.roll + turn))
    landmarks = {name: _point(view_to_source.apply(point))
                 for name, point in face.landmarks.items()}
    mesh = None if face.mesh is None else view_to_source.apply(face.mesh)
    return Face(region=region, score=face.score, landmarks=landmarks, mesh=mesh,
                source=face.source)


def _point(p: np.ndarray) -> tuple[float, float]:
    return float(p[0]), float(p[1])


def cut(image: np.ndarray, crop: FaceCrop) -> View:
    """The crop resampled to its output size (black outside the image), as a view.

    Only the part of the image around the crop is resampled, so this costs the same on a
    huge image as on a small one.
    """
    height, width = image.shape[:2]
    margin = 2.0 * max(crop.size[0] / crop.output_size[0], crop.size[1] / crop.output_size[1])
    corners = crop.corners()
    x0, y0, x1, y1 = integer_bounds(
        np.vstack([corners.min(axis=0) - margin, corners.max(axis=0) + margin]), width, height)
    to_crop = Affine.translation(x0, y0).then(crop.to_aligned())
    if x1 <= x0 or y1 <= y0:
        pixels = np.zeros((crop.output_size[1], crop.output_size[0], *image.shape[2:]),
                          dtype=image.dtype)
    else:
        pixels = warp(image[y0:y1, x0:x1], to_crop, crop.output_size, border="zero",
                      interpolation="linear")
    return View(pixels, crop.to_aligned().inverse(), "cut")
