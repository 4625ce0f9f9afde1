"""The main pass's mask: everywhere the user wants, never on the faces."""

from __future__ import annotations

import numpy as np

from lib_facepop.protect import faces_allowed, main_pass_mask


def _masks() -> tuple[np.ndarray, np.ndarray]:
    face = np.zeros((4, 6), np.float32)
    face[1:3, 1:3] = 1.0
    face[1, 3] = 0.5  # soft edge
    user = np.zeros((4, 6), np.float32)
    user[:, :2] = 1.0  # the user inpaints the left third
    return face, user


def test_without_a_user_mask_the_main_pass_works_everywhere_but_the_faces() -> None:
    face, _ = _masks()
    mask = main_pass_mask(face, None, invert=False)
    assert np.array_equal(mask, 1.0 - face)
    assert faces_allowed(None, invert=False) is None


def test_inpaint_masked_works_inside_the_users_mask_minus_the_faces() -> None:
    face, user = _masks()
    mask = main_pass_mask(face, user, invert=False)
    assert mask[0, 0] == 1.0  # user area, no face
    assert mask[1, 1] == 0.0  # user area, face
    assert mask[0, 4] == 0.0  # outside the user's area
    assert faces_allowed(user, invert=False)[1, 1]
    assert not faces_allowed(user, invert=False)[1, 4]


def test_inpaint_not_masked_is_given_in_the_users_convention() -> None:
    face, user = _masks()
    mask = main_pass_mask(face, user, invert=True)
    effective = 1.0 - mask  # what the host works on after inverting
    assert effective[0, 4] == 1.0  # not masked by the user, no face
    assert effective[1, 2] == 0.0  # a face
    assert effective[0, 0] == 0.0  # masked by the user: left alone
    assert effective[1, 3] == 0.5  # the face's soft edge stays soft
    allowed = faces_allowed(user, invert=True)
    assert allowed[1, 2] and not allowed[1, 1]
