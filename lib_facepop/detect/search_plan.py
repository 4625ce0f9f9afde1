"""Which views the aggressive search looks at: scales, tiles and turns, with bounded work.

The proposal model (BlazeFace short range, 128 px input) reports faces of every roll once
they are about 18 px wide in its input. So every scale ("level") of the search is meant for
one octave of face sizes: level k shrinks the image so that faces of ``F * 2**k`` source
pixels appear 18 px wide, and cuts it into 128 px tiles that overlap by twice that, so each
face of the octave lies wholly inside some tile. The coarsest level is the whole image in
one view. Larger faces of a level are also found there, or one level up.

The plan is pure arithmetic on the image size, so it can be checked without any model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lib_facepop.detect.views import Rect, rotated_canvas_size, scaled_size, tile_rects


@dataclass(frozen=True)
class SearchSettings:
    """Tuning of the search; the defaults come from measurements (see docs/detection.md)."""

    view_size: int = 128
    # Width (px, in the model's input) above which proposals come reliably at any roll.
    smallest_face_in_view: float = 18.0
    # Never search for faces smaller than this many source pixels, whatever the settings.
    smallest_face_floor: float = 40.0
    # At most this many views per image; the smallest face searched grows to fit.
    max_views: int = 48
    # Turns (degrees counter-clockwise) at which each level is searched.
    turns: tuple[float, ...] = (0.0,)

    def __post_init__(self) -> None:
        if self.view_size < 16 or self.smallest_face_in_view <= 0:
            raise ValueError("view size and smallest face in view must be positive")
        if self.max_views < 1 or not self.turns:
            raise ValueError("a search needs at least one view and one turn")


@dataclass(frozen=True)
class SearchLevel:
    """One scale of the search: the image resized to ``resized_size`` (``scale`` times its
    size), turned by ``turn`` onto a canvas of ``layer_size``, cut into ``tiles``."""

    scale: float
    turn: float
    resized_size: tuple[int, int]
    layer_size: tuple[int, int]
    tiles: tuple[Rect, ...]
    smallest_face: float  # in source pixels

    @property
    def whole_image(self) -> bool:
        return len(self.tiles) == 1


@dataclass(frozen=True)
class SearchPlan:
    levels: tuple[SearchLevel, ...]  # coarse to fine
    smallest_face: float  # in source pixels

    @property
    def view_count(self) -> int:
        return sum(len(level.tiles) for level in self.levels)


def plan_search(width: int, height: int, smallest_face: float,
                settings: SearchSettings | None = None) -> SearchPlan:
    """The views that find faces of ``smallest_face`` source pixels and up in a
    width x height image, within ``settings.max_views``."""
    settings = settings or SearchSettings()
    if width < 1 or height < 1:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    face = max(float(smallest_face), settings.smallest_face_floor)
    while True:
        plan = _plan_from(width, height, face, settings)
        if plan.view_count <= settings.max_views:
            return plan
        face *= 1.1


def _plan_from(width: int, height: int, smallest_face: float,
               settings: SearchSettings) -> SearchPlan:
    size = settings.view_size
    overlap = int(math.ceil(2.0 * settings.smallest_face_in_view))
    whole_scale = size / max(width, height)
    scales: list[list[SearchLevel]] = []  # fine to coarse, each with its turns
    face = smallest_face
    while True:
        scale = settings.smallest_face_in_view / face
        if scale <= whole_scale:
            break
        scales.append(_turned_levels(width, height, scale, face, settings, overlap))
        face *= 2.0
    # The coarsest level: the whole image in one view (never enlarged).
    scale = min(whole_scale, 1.0)
    scales.append(_turned_levels(width, height, scale, settings.smallest_face_in_view / scale,
                                 settings, overlap=None))
    levels = tuple(level for turns in reversed(scales) for level in turns)
    return SearchPlan(levels=levels, smallest_face=smallest_face)


def _turned_levels(width: int, height: int, scale: float, smallest_face: float,
                   settings: SearchSettings, overlap: int | None) -> list[SearchLevel]:
    """The levels of one scale, one per turn; ``overlap`` None means one whole view."""
    size = scaled_size(width, height, scale)
    levels = []
    for turn in settings.turns:
        layer_w, layer_h = rotated_canvas_size(size[0], size[1], turn)
        if overlap is None:
            tiles = ((0, 0, layer_w, layer_h),)
        else:
            tiles = tuple(tile_rects(layer_w, layer_h, settings.view_size, overlap))
        levels.append(SearchLevel(scale=scale, turn=turn, resized_size=size,
                                  layer_size=(layer_w, layer_h), tiles=tiles,
                                  smallest_face=smallest_face))
    return levels
