"""Confirming and refining a face candidate with the 478-point face mesh.

The mesh model expects an upright face filling much of its input, so each candidate is cut
out upright (from its estimated roll) before the mesh runs; the landmarks are then mapped
back to the source image. The refined face gets a precise region, landmarks and roll over
the whole -180..180 range.
"""

from __future__ import annotations

import numpy as np

from lib_facepop.detect import mediapipe_runtime
from lib_facepop.detect.graphs import MESH_STREAM
from lib_facepop.faces import (
    LEFT_EYE,
    MOUTH,
    NOSE,
    RIGHT_EYE,
    Face,
    FaceRegion,
    face_to_image_rotation,
    roll_from_eyes,
)
from lib_facepop.geometry import crop_for_face
from lib_facepop.warp import warp

MESH_CROP_SIZE = 256
MESH_CROP_PADDING = 0.45
# The mesh's face must sit this close (in face sizes) to the candidate's centre.
MAX_CENTER_OFFSET = 0.5

# Face-mesh landmark indices ("left" = viewer's left in an upright face).
LEFT_EYE_CORNERS = (33, 133)
RIGHT_EYE_CORNERS = (362, 263)
NOSE_TIP = 1
MOUTH_INNER_LIPS = (13, 14)
MOUTH_LEFT_CORNER = 61
MOUTH_RIGHT_CORNER = 291
CHIN = 152


def refine_with_mesh(image: np.ndarray, candidate: Face) -> Face | None:
    """The candidate confirmed by the face mesh, or None if the mesh finds no face there."""
    crop = crop_for_face(candidate.region, padding_fraction=MESH_CROP_PADDING,
                         output_size=(MESH_CROP_SIZE, MESH_CROP_SIZE),
                         keep_aspect_ratio=True, angle=candidate.roll)
    to_crop = crop.to_aligned()
    patch = warp(image, to_crop, crop.output_size, border="zero", interpolation="linear")
    landmarks = mediapipe_runtime.face_mesh().process(patch)[MESH_STREAM]
    if landmarks is None:
        return None
    in_crop = landmarks.reshape(-1, 2).astype(np.float64)
    mesh = to_crop.inverse().apply(in_crop)
    face = face_from_mesh(mesh, score=candidate.score)
    offset = np.hypot(*(np.asarray(face.center) - np.asarray(candidate.center)))
    if offset > MAX_CENTER_OFFSET * max(face.size, candidate.size):
        return None
    return face


def face_from_mesh(mesh: np.ndarray, score: float) -> Face:
    """A face whose region, landmarks and roll come from mesh points in source pixels."""
    left_eye = mesh[list(LEFT_EYE_CORNERS)].mean(axis=0)
    right_eye = mesh[list(RIGHT_EYE_CORNERS)].mean(axis=0)
    roll = roll_from_eyes(tuple(left_eye), tuple(right_eye))
    to_upright = face_to_image_rotation(roll).T
    upright = mesh @ to_upright.T
    low, high = upright.min(axis=0), upright.max(axis=0)
    center = ((low + high) / 2.0) @ face_to_image_rotation(roll).T
    region = FaceRegion(center=(float(center[0]), float(center[1])),
                        size=(float(high[0] - low[0]), float(high[1] - low[1])), angle=roll)
    points = {
        LEFT_EYE: left_eye,
        RIGHT_EYE: right_eye,
        NOSE: mesh[NOSE_TIP],
        MOUTH: mesh[list(MOUTH_INNER_LIPS)].mean(axis=0),
        "mouth_left": mesh[MOUTH_LEFT_CORNER],
        "mouth_right": mesh[MOUTH_RIGHT_CORNER],
        "chin": mesh[CHIN],
    }
    landmarks = {name: (float(p[0]), float(p[1])) for name, p in points.items()}
    return Face(region=region, score=score, landmarks=landmarks, mesh=mesh, source="mesh")
