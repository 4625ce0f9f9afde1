"""Merging detections of the same face across passes, and keeping neighbours apart."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lib_facepop.detect.selection import non_max_suppression, same_face, same_face_matrix
from lib_facepop.faces import Face, FaceRegion


def face(cx: float, cy: float, size: float, roll: float = 0.0, score: float = 0.9,
         mesh: bool = False) -> Face:
    return Face(FaceRegion((cx, cy), (size, size * 1.15), roll), score=score,
                mesh=np.zeros((478, 2)) if mesh else None)


def test_duplicates_from_different_passes_become_one_face():
    upright_pass = face(200, 150, 60, roll=80.0, score=0.62)
    turned_pass = face(203, 147, 66, roll=84.0, score=0.91)  # looser box, other roll
    coarse_pass = face(196, 152, 55, roll=79.0, score=0.55)
    kept = non_max_suppression([upright_pass, turned_pass, coarse_pass])
    assert kept == [turned_pass]


def test_neighbouring_faces_are_kept_apart():
    left, right = face(100, 100, 60), face(165, 104, 60)  # cheek to cheek
    above = face(130, 40, 50)
    kept = non_max_suppression([left, right, above])
    assert len(kept) == 3


def test_a_small_face_beside_a_large_one_is_kept():
    large, small = face(300, 300, 240), face(470, 300, 40)
    assert len(non_max_suppression([large, small])) == 2


def test_a_landmark_confirmed_face_wins_over_a_higher_scored_unconfirmed_one():
    confirmed = face(100, 100, 60, score=0.7, mesh=True)
    unconfirmed = face(102, 101, 62, score=0.95)
    assert non_max_suppression([unconfirmed, confirmed]) == [confirmed]


def test_the_same_face_is_recognised_across_a_half_turn():
    upright = face(100, 100, 60, roll=0.0)
    upside_down = face(101, 99, 58, roll=179.0)
    assert same_face(upright, upside_down)


faces_strategy = st.lists(
    st.builds(face, st.floats(0, 500), st.floats(0, 500), st.floats(5, 200),
              st.floats(-180, 180), st.floats(0, 1)),
    min_size=2, max_size=12)


@settings(max_examples=80, deadline=None)
@given(faces=faces_strategy)
def test_the_pairwise_matrix_agrees_with_same_face(faces):
    matrix = same_face_matrix(faces)
    for i, a in enumerate(faces):
        for j, b in enumerate(faces):
            assert matrix[i, j] == same_face(a, b)


@settings(max_examples=80, deadline=None)
@given(faces=faces_strategy)
def test_no_two_kept_faces_are_the_same_face(faces):
    kept = non_max_suppression(faces)
    assert kept
    for i, a in enumerate(kept):
        for b in kept[i + 1:]:
            assert not same_face(a, b)
