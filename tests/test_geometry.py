"""Crop boxes and transforms: exact inverses, containment, rolls, OpenCV conventions."""

from __future__ import annotations

import math

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lib_facepop.faces import FaceRegion, angle_difference, normalize_angle, roll_from_eyes
from lib_facepop.geometry import Affine, crop_for_face, integer_bounds

coordinates = st.floats(min_value=-5000, max_value=5000, allow_nan=False)
rolls = st.floats(min_value=-180, max_value=180, allow_nan=False)
sides = st.floats(min_value=4, max_value=2000, allow_nan=False)
paddings = st.floats(min_value=0, max_value=1, allow_nan=False)
outputs = st.integers(min_value=64, max_value=2048)


def regions() -> st.SearchStrategy[FaceRegion]:
    return st.builds(lambda x, y, w, h, a: FaceRegion((x, y), (w, h), a),
                     coordinates, coordinates, sides, sides, rolls)


@settings(max_examples=300, deadline=None)
@given(region=regions(), padding=paddings, out_w=outputs, out_h=outputs,
       keep=st.booleans(), align=st.booleans(),
       point=st.tuples(coordinates, coordinates))
def test_point_forward_then_back_returns_within_a_millionth_pixel(
        region, padding, out_w, out_h, keep, align, point) -> None:
    crop = crop_for_face(region, padding_fraction=padding, output_size=(out_w, out_h),
                         keep_aspect_ratio=keep, angle=region.angle if align else 0.0)
    forward = crop.to_aligned()
    back = forward.inverse().apply(forward.apply(point))
    assert np.allclose(back, point, atol=1e-6, rtol=0)


@settings(max_examples=300, deadline=None)
@given(region=regions(), padding=paddings, out_w=outputs, out_h=outputs,
       keep=st.booleans(), align=st.booleans())
def test_every_crop_contains_its_face(region, padding, out_w, out_h, keep, align) -> None:
    angle = region.angle if align else 0.0
    crop = crop_for_face(region, padding_fraction=padding, output_size=(out_w, out_h),
                         keep_aspect_ratio=keep, angle=angle)
    assert crop.contains(region.corners(), tolerance=1e-6)
    if angle == 0.0:
        x0, y0, x1, y1 = region.bounding_box()
        assert crop.contains(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]))


@settings(max_examples=200, deadline=None)
@given(region=regions(), padding=st.floats(min_value=0.05, max_value=1))
def test_padding_leaves_room_on_every_side(region, padding) -> None:
    crop = crop_for_face(region, padding_fraction=padding, output_size=(720, 720),
                         keep_aspect_ratio=False, angle=region.angle)
    local = crop.to_aligned().apply(region.corners())
    margin = padding / (1 + 2 * padding) * 720
    assert local.min() >= margin - 1e-6
    assert local.max() <= 720 - margin + 1e-6


@settings(max_examples=200, deadline=None)
@given(roll=rolls, center=st.tuples(coordinates, coordinates), eye_gap=sides)
def test_aligned_crop_puts_the_eyes_level_at_any_roll(roll, center, eye_gap) -> None:
    # Build eyes of a face with this roll, then check the crop turns them level.
    r = math.radians(roll)
    direction = np.array([math.cos(r), -math.sin(r)])
    left = np.asarray(center) - direction * eye_gap / 2
    right = np.asarray(center) + direction * eye_gap / 2
    assert angle_difference(roll_from_eyes(tuple(left), tuple(right)), roll) < 1e-6
    region = FaceRegion(tuple(center), (eye_gap * 2, eye_gap * 2), roll)
    crop = crop_for_face(region, padding_fraction=0.35, output_size=(720, 720),
                         keep_aspect_ratio=True, angle=roll)
    (lx, ly), (rx, ry) = crop.to_aligned().apply(np.array([left, right]))
    assert abs(ly - ry) < 1e-6 * max(1.0, abs(ly))
    assert rx > lx


def test_roll_convention_examples_from_the_design() -> None:
    # Upright: left eye on the viewer's left, level.
    assert roll_from_eyes((100, 100), (140, 100)) == 0.0
    # Upside down: the same eyes swapped.
    assert roll_from_eyes((140, 100), (100, 100)) == 180.0
    # Turned counter-clockwise on screen: the right eye is higher (smaller y).
    assert math.isclose(roll_from_eyes((100, 100), (130, 70)), 45.0)
    assert math.isclose(roll_from_eyes((100, 100), (130, 130)), -45.0)


def test_normalize_angle_range_is_minus_180_exclusive_to_180() -> None:
    assert normalize_angle(-180.0) == 180.0
    assert normalize_angle(540.0) == 180.0
    assert normalize_angle(-190.0) == 170.0
    assert normalize_angle(360.0) == 0.0
    assert angle_difference(179.0, -179.0) == 2.0


def test_cv2_matrix_warps_pixels_to_where_the_affine_maps_them() -> None:
    # A single bright pixel must land where Affine.apply sends its centre.
    image = np.zeros((50, 60), np.float32)
    image[20, 30] = 1.0
    region = FaceRegion((30.5, 20.5), (10, 10), 30.0)
    crop = crop_for_face(region, padding_fraction=0.5, output_size=(81, 81),
                         keep_aspect_ratio=True, angle=30.0)
    warped = cv2.warpAffine(image, crop.to_aligned().as_cv2(), (81, 81),
                            flags=cv2.INTER_LINEAR)
    y, x = np.unravel_index(np.argmax(warped), warped.shape)
    expected = crop.to_aligned().apply((30.5, 20.5))
    assert abs((x + 0.5) - expected[0]) <= 1.0 and abs((y + 0.5) - expected[1]) <= 1.0
    # The aligned centre is the crop centre: the face sits in the middle.
    assert np.allclose(expected, (40.5, 40.5))


def test_integer_bounds_clip_to_the_image() -> None:
    corners = np.array([[-10.2, 5.5], [30.1, -3.0], [45.0, 70.0], [0.0, 12.0]])
    assert integer_bounds(corners, 40, 60) == (0, 0, 40, 60)
    assert integer_bounds(np.array([[-20.0, -20.0], [-10.0, -5.0]]), 40, 60)[2] == 0


def test_affine_composition_and_inverse() -> None:
    a = Affine.translation(3, 4).then(Affine.scaling(2, 0.5))
    assert np.allclose(a.apply((1, 1)), (8, 2.5))
    assert np.allclose(a.inverse().apply(a.apply((7, -2))), (7, -2))
    assert math.isclose(a.scale, 1.0)
