"""Views of an image (scaled, turned on an unclipped canvas, tiled) map back to the source."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib_facepop.detect.aggressive import views_of
from lib_facepop.detect.search_plan import SearchSettings, plan_search
from lib_facepop.detect.views import (
    View,
    face_to_source,
    rotated,
    rotation_onto_canvas,
    scaled,
    tile_of,
    tile_rects,
    tile_starts,
)
from lib_facepop.faces import Face, FaceRegion, angle_difference, normalize_angle
from lib_facepop.geometry import Affine
from lib_facepop.warp import warp


def blob_image(width: int, height: int, center: tuple[float, float],
               sigma: float = 2.0) -> np.ndarray:
    """A black RGB image with one soft bright spot centred at ``center`` (continuous
    pixel coordinates: pixel (i, j) covers [i, i+1) x [j, j+1))."""
    xs = np.arange(width) + 0.5
    ys = np.arange(height) + 0.5
    spot = np.exp(-((xs[None, :] - center[0]) ** 2 + (ys[:, None] - center[1]) ** 2)
                  / (2 * sigma ** 2))
    return np.repeat((255 * spot).astype(np.uint8)[:, :, None], 3, axis=2)


def spot_in(view: View) -> np.ndarray | None:
    """The intensity-weighted centre of the bright spot in a view (continuous coords)."""
    grey = view.pixels[:, :, 0].astype(np.float64)
    if grey.max() < 128:
        return None
    weights = np.where(grey > 0.2 * grey.max(), grey, 0.0)
    ys, xs = np.mgrid[0:grey.shape[0], 0:grey.shape[1]]
    return np.array([(weights * (xs + 0.5)).sum(), (weights * (ys + 0.5)).sum()]) / weights.sum()


@pytest.mark.parametrize("degrees", [0, 90, 180, 270, -90, 450, 30, -137.5])
def test_a_point_in_a_turned_view_maps_back_to_its_source_point(degrees):
    source_point = (61.3, 23.8)
    image = blob_image(97, 53, source_point)
    view = rotated(image, degrees)
    found = spot_in(view)
    assert found is not None, "the canvas clipped the spot"
    back = view.to_source.apply(found)
    assert np.allclose(back, source_point, atol=0.25), (back, source_point)
    # And the other way round: the source point lands where the spot is.
    assert np.allclose(view.to_source.inverse().apply(source_point), found, atol=0.25)


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_quarter_turns_move_pixels_exactly_as_their_affine_says(degrees):
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, size=(37, 53, 3), dtype=np.uint8)
    view = rotated(image, degrees)
    resampled = warp(image, view.to_source.inverse(), view.size, border="zero",
                     interpolation="linear")
    assert np.array_equal(view.pixels, resampled)


@pytest.mark.parametrize("degrees", [0, 30, 90, 137, 180, -45, -120])
def test_turned_canvas_clips_no_corner(degrees):
    width, height = 640, 360
    to_canvas, (canvas_w, canvas_h) = rotation_onto_canvas(width, height, degrees)
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], float)
    moved = to_canvas.apply(corners)
    assert moved.min() >= -1e-6
    assert moved[:, 0].max() <= canvas_w + 1e-6
    assert moved[:, 1].max() <= canvas_h + 1e-6


def test_a_face_turns_with_its_view():
    # A face with roll 10 in an image turned counter-clockwise by 90 has roll 100 there.
    face = Face(FaceRegion((50.0, 40.0), (20.0, 24.0), 10.0), score=0.9)
    view = rotated(np.zeros((80, 100, 3), np.uint8), 90)
    in_view = face_to_source(face, view.to_source.inverse())
    assert in_view.roll == pytest.approx(100.0)
    back = face_to_source(in_view, view.to_source)
    assert back.roll == pytest.approx(10.0)
    assert np.allclose(back.center, face.center)


@settings(max_examples=60, deadline=None)
@given(turn=st.floats(-180, 180), scale=st.floats(0.1, 3.0),
       offset=st.tuples(st.integers(0, 300), st.integers(0, 300)),
       center=st.tuples(st.floats(0, 400), st.floats(0, 300)),
       size=st.floats(8, 200), roll=st.floats(-180, 180))
def test_faces_map_from_any_scaled_turned_tile_back_to_source(turn, scale, offset, center,
                                                             size, roll):
    width, height = 400, 300
    to_canvas, _ = rotation_onto_canvas(int(width * scale) or 1, int(height * scale) or 1,
                                        turn)
    source_to_layer = Affine.scaling(scale, scale)
    view_to_source = (Affine.translation(*offset).then(to_canvas.inverse())
                      .then(source_to_layer.inverse()))
    face = Face(FaceRegion(center, (size, 1.2 * size), roll), score=0.5,
                landmarks={"nose": (center[0] + 3.0, center[1] - 2.0)})
    in_view = face_to_source(face, view_to_source.inverse())
    assert angle_difference(in_view.roll, normalize_angle(roll + turn)) < 1e-6
    assert in_view.size == pytest.approx(face.size * scale, rel=1e-6)
    back = face_to_source(in_view, view_to_source)
    assert np.allclose(back.center, face.center, atol=1e-6)
    assert np.allclose(back.landmarks["nose"], face.landmarks["nose"], atol=1e-6)
    assert back.size == pytest.approx(face.size, rel=1e-6)
    assert angle_difference(back.roll, roll) < 1e-6


@settings(max_examples=200, deadline=None)
@given(length=st.integers(1, 3000), tile=st.integers(32, 256), overlap=st.integers(0, 31))
def test_tiles_cover_everything_with_the_asked_overlap(length, tile, overlap):
    starts = tile_starts(length, tile, overlap)
    assert starts[0] == 0
    assert starts[-1] + tile >= length
    for a, b in itertools.pairwise(starts):
        assert b > a
        assert a + tile - b >= 0.95 * overlap - 1


def test_tiles_of_an_image_cover_it_and_map_back():
    source_point = (143.0, 87.0)
    image = blob_image(300, 200, source_point)
    layer = scaled(image, 0.8)
    rects = tile_rects(layer.size[0], layer.size[1], 96, 30)
    assert len(rects) > 1
    covered = np.zeros(layer.pixels.shape[:2], bool)
    hits = 0
    for rect in rects:
        x0, y0, x1, y1 = rect
        covered[y0:y1, x0:x1] = True
        tile = tile_of(layer, rect)
        found = spot_in(tile)
        if found is not None and 4 < found[0] < tile.size[0] - 4 \
                and 4 < found[1] < tile.size[1] - 4:
            hits += 1
            assert np.allclose(tile.to_source.apply(found), source_point, atol=0.5)
    assert covered.all()
    assert hits >= 1


def test_every_view_of_a_search_maps_back_to_the_source():
    source_point = (411.0, 157.0)
    image = blob_image(640, 400, source_point, sigma=4.0)
    plan = plan_search(640, 400, 60, SearchSettings(turns=(0.0, 90.0, 180.0, 270.0, 37.0)))
    seen_turns = set()
    for _level, view in views_of(image, plan):
        found = spot_in(view)
        if found is None:
            continue
        w, h = view.size
        if not (6 < found[0] < w - 6 and 6 < found[1] < h - 6):
            continue  # cut by the tile's edge: its centre is off
        back = view.to_source.apply(found)
        pixel = view.to_source.scale  # one view pixel, in source pixels
        assert math.dist(back, source_point) < 1.0 * pixel + 0.5, view.label
        seen_turns.add(view.label.split("turn ")[1].split()[0])
    assert {"0", "90", "180", "-90", "37"} <= seen_turns
