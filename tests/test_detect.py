"""Detection on real photos: the face is found, at the right place, with the right roll."""

from __future__ import annotations

import numpy as np
import pytest

from lib_facepop.detect import DetectionOptions, SinglePassDetector, select_faces
from lib_facepop.detect.selection import box_iou, non_max_suppression
from lib_facepop.faces import Face, FaceRegion, angle_difference
from tests.helpers import rotate_unclipped

# Hand-annotated on the photo (midpoints of the eye corners): the astronaut's head is
# turned 3.5 degrees clockwise, and her face is centred near (224, 125).
ASTRONAUT_ROLL = -3.5
ASTRONAUT_FACE_CENTRE = (224.0, 125.0)


@pytest.fixture(scope="module")
def detector() -> SinglePassDetector:
    return SinglePassDetector()


def test_the_astronauts_face_is_found_with_landmarks(detector, astronaut) -> None:
    faces = detector.detect(astronaut, DetectionOptions())
    assert len(faces) == 1
    face = faces[0]
    x0, y0, x1, y1 = face.box
    assert x0 < ASTRONAUT_FACE_CENTRE[0] < x1 and y0 < ASTRONAUT_FACE_CENTRE[1] < y1
    assert 80 < x1 - x0 < 130 and 80 < y1 - y0 < 140
    assert face.mesh is not None and face.mesh.shape == (478, 2)
    assert angle_difference(face.roll, ASTRONAUT_ROLL) < 2.0
    # "left_eye" is the eye on the viewer's left; mouth below nose below eyes.
    lx, ly = face.landmarks["left_eye"]
    rx, ry = face.landmarks["right_eye"]
    assert lx < rx
    assert max(ly, ry) < face.landmarks["nose"][1] < face.landmarks["mouth"][1]


@pytest.mark.parametrize("turn", [-45, -30, -15, 0, 15, 30, 45])
def test_roll_of_turned_copies_is_within_5_degrees(detector, astronaut, turn) -> None:
    turned, matrix = rotate_unclipped(astronaut, turn)
    faces = detector.detect(turned, DetectionOptions())
    assert len(faces) == 1
    face = faces[0]
    assert angle_difference(face.roll, ASTRONAUT_ROLL + turn) <= 5.0
    expected_centre = matrix @ np.array([ASTRONAUT_FACE_CENTRE[0] - 0.5,
                                         ASTRONAUT_FACE_CENTRE[1] - 0.5, 1.0]) + 0.5
    assert np.hypot(*(np.asarray(face.center) - expected_centre)) < 15.0


def test_a_photo_without_a_face_gives_no_face(detector, coffee) -> None:
    assert detector.detect(coffee, DetectionOptions(confidence=0.5)) == []


def test_a_face_cut_by_the_border_is_found_and_reaches_past_it(detector, astronaut) -> None:
    cut = np.ascontiguousarray(astronaut[:, 186:])
    faces = detector.detect(cut, DetectionOptions())
    assert len(faces) == 1
    assert faces[0].box[0] < 0 < faces[0].box[2]


def _face(x: float, y: float, side: float, score: float, meshed: bool = False) -> Face:
    mesh = np.zeros((478, 2)) if meshed else None
    return Face(region=FaceRegion((x, y), (side, side), 0.0), score=score, mesh=mesh)


def test_nms_keeps_the_best_of_overlapping_detections_and_distinct_neighbours() -> None:
    a = _face(100, 100, 50, 0.9)
    a_again = _face(104, 98, 56, 0.7)
    a_meshed = _face(102, 101, 52, 0.6, meshed=True)
    b = _face(170, 100, 50, 0.8)
    kept = non_max_suppression([a, a_again, b, a_meshed])
    assert kept == [a_meshed, b]


def test_selection_filters_orders_and_limits() -> None:
    small = _face(10, 10, 20, 0.99)
    big_left = _face(100, 300, 120, 0.6)
    mid_right = _face(400, 50, 80, 0.95)
    weak = _face(250, 250, 100, 0.3)
    faces = [small, big_left, mid_right, weak]
    options = DetectionOptions(confidence=0.5, min_face_size=24, max_faces=0)
    assert select_faces(faces, options) == [big_left, mid_right]
    by_x = DetectionOptions(confidence=0.5, order="left_to_right")
    assert select_faces(faces, by_x) == [small, big_left, mid_right]
    by_score = DetectionOptions(confidence=0.5, order="confidence", max_faces=2)
    assert select_faces(faces, by_score) == [small, mid_right]


def test_box_iou() -> None:
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert box_iou((0, 0, 10, 10), (10, 0, 20, 10)) == 0.0
    assert box_iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(1 / 3)
