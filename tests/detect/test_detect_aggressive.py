"""Aggressive detection on real photos: every roll, small faces, no invented faces."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from detect_scenes import moved, paste_scaled, turn_unclipped, turned_roll

from lib_facepop.detect import (
    AggressiveDetector,
    DetectionOptions,
    SinglePassDetector,
    create_detector,
    select_faces,
)
from lib_facepop.faces import angle_difference
from lib_facepop.settings import FacePopSettings

ROLL_TOLERANCE = 5.0


def test_the_default_settings_ask_for_aggressive_detection():
    assert isinstance(create_detector(FacePopSettings()), AggressiveDetector)
    plain = create_detector(FacePopSettings(aggressive_detection=False))
    assert isinstance(plain, SinglePassDetector)


def test_the_upright_reference_face_is_where_the_astronaut_is(upright_face):
    # skimage's astronaut at 320 px: her face is around (141, 80), about 60 px, upright.
    assert math.dist(upright_face.center, (141, 80)) < 12
    assert 45 < upright_face.size < 80
    assert angle_difference(upright_face.roll, 0.0) < 10
    assert upright_face.mesh is not None and upright_face.mesh.shape == (478, 2)


@pytest.mark.parametrize("degrees", [-180, -150, -120, -90, -60, -30, 0, 45, 75, 105,
                                     135, 165])
def test_roll_is_right_all_round_the_circle(aggressive, small_astronaut, upright_face,
                                            degrees):
    turned, to_turned = turn_unclipped(small_astronaut, degrees)
    faces = aggressive.detect(turned, DetectionOptions())
    assert len(faces) == 1, [(f.center, f.roll, f.score) for f in faces]
    face = faces[0]
    expected_roll = turned_roll(upright_face.roll, degrees)
    assert angle_difference(face.roll, expected_roll) <= ROLL_TOLERANCE, (face.roll,
                                                                        expected_roll)
    expected_center = moved(to_turned, upright_face.center)
    assert math.dist(face.center, expected_center) < 0.15 * upright_face.size
    assert face.size == pytest.approx(upright_face.size, rel=0.15)


@pytest.fixture(scope="module")
def small_face_scene(astronaut, upright_face):
    """The astronaut shrunk so that her face is about 48 px, turned 30 degrees, in a
    1920x1080 frame of a blurred real photo; and where her face should be found."""
    from skimage import data

    frame = cv2.GaussianBlur(cv2.resize(data.coffee(), (1920, 1080)), (0, 0), 3)
    photo_scale = 320 / astronaut.shape[1]  # upright_face is measured at 320 px
    face_in_photo = (upright_face.center[0] / photo_scale, upright_face.center[1] / photo_scale)
    face_size_in_photo = upright_face.size / photo_scale
    scale = 48.0 / face_size_in_photo
    to_frame = paste_scaled(frame, astronaut, face_in_photo, (1460.0, 310.0), scale, 30.0)
    truth = {"center": moved(to_frame, face_in_photo), "size": 48.0,
             "roll": turned_roll(upright_face.roll, 30.0)}
    return frame, truth


def test_a_48_px_face_in_a_1080p_frame_is_found_where_it_is(aggressive, small_face_scene):
    frame, truth = small_face_scene
    faces = aggressive.detect(frame, DetectionOptions())
    assert len(faces) == 1, [(f.center, f.size) for f in faces]
    face = faces[0]
    assert math.dist(face.center, truth["center"]) < 0.25 * truth["size"]
    assert face.size == pytest.approx(truth["size"], rel=0.25)
    assert angle_difference(face.roll, truth["roll"]) <= ROLL_TOLERANCE


def test_plain_detection_misses_that_face(small_face_scene):
    # What the aggressive search is for: one full-range pass does not see it.
    frame, _ = small_face_scene
    assert SinglePassDetector().detect(frame, DetectionOptions()) == []


def test_the_minimum_face_size_setting_drops_smaller_faces(aggressive, small_face_scene):
    frame, _ = small_face_scene
    options = DetectionOptions(min_face_size=100)
    assert select_faces(aggressive.detect(frame, options), options) == []


@pytest.mark.parametrize("name", ["coffee", "chelsea", "rocket", "hubble_deep_field"])
def test_no_face_is_invented_in_a_photo_without_people(aggressive, name):
    from skimage import data

    photo = np.ascontiguousarray(getattr(data, name)())
    assert aggressive.detect(photo, DetectionOptions(confidence=0.5)) == []


def test_one_worker_and_several_find_the_same_faces(small_astronaut):
    turned, _ = turn_unclipped(small_astronaut, 120)
    one = AggressiveDetector(workers=1).detect(turned, DetectionOptions())
    two = AggressiveDetector(workers=2).detect(turned, DetectionOptions())
    assert [(f.center, f.roll) for f in one] == [(f.center, f.roll) for f in two]
