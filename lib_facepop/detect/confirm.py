"""Confirming a face proposal and refining it with the 478-point face landmarks.

A proposal is cut out upright (from its estimated roll) at a size the detector likes. A
proposal's roll can be wrong by anything up to 180 degrees (BlazeFace places the keypoints
of an upside-down face as if it were upright), so the cut-out is shown to BlazeFace four
times in one pass, turned by 0, 90, 180 and 270 degrees side by side: an upright face scores
highest, which settles the orientation, and its keypoints are good. The landmark model then
runs on the region that detection gives (as MediaPipe's face mesh does after its own
detector), which yields the precise region, landmarks and roll over the full -180..180
range. Proposals that BlazeFace or the landmark model turn down, or on which the two
disagree, are dropped: that is what keeps textures and emblems out.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from lib_facepop.detect import mediapipe_runtime
from lib_facepop.detect.blazeface import PROPOSAL_GRAPH_FLOOR, propose_candidates
from lib_facepop.detect.graphs import IMAGE_STREAM, ROI_STREAM
from lib_facepop.detect.landmarks import face_from_mesh
from lib_facepop.detect.views import View, cut, face_to_source, rotated
from lib_facepop.faces import LEFT_EYE, RIGHT_EYE, Face, angle_difference
from lib_facepop.geometry import Affine, FaceCrop

# The upright cut-out: this many pixels square, the proposal's face filling this fraction
# of its width.
CUT_SIZE = 256
FACE_FRACTION_OF_CUT = 0.4
# Each of the four turned copies is this many pixels square (2 x 2 of them fill the
# detector's 128 px input), so the face is about 26 px wide there.
ORIENTATION_TILE = 64
# A detection confirms the proposal if it is this near its copy's centre (in face sizes)
# and its size is within this factor of the proposal's.
MAX_CENTER_OFFSET = 0.5
MAX_SIZE_FACTOR = 2.5
# MediaPipe's own landmark region: 1.5 times the face box, square.
LANDMARK_REGION_SCALE = 1.5
# The landmarks must agree with the detection this well, or the face is dropped: roll in
# degrees, eye positions in eye distances.
MAX_ROLL_DISAGREEMENT = 30.0
MAX_EYE_DISAGREEMENT = 0.5


def confirm_proposal(image: np.ndarray, proposal: Face, min_score: float) -> Face | None:
    """The face the proposal points at, refined by the face landmarks; or None.

    ``min_score`` is the BlazeFace score the upright face must reach. The returned face
    carries that score, its landmarks and the dense mesh, all in source pixels.
    """
    view = upright_cut(image, proposal)
    detection = best_orientation(view, max(min_score, PROPOSAL_GRAPH_FLOOR))
    if detection is None:
        return None
    mesh_in_view = landmarks_in_region(view.pixels, detection)
    if mesh_in_view is None:
        return None
    face = face_from_mesh(view.to_source.apply(mesh_in_view), score=detection.score)
    detected = face_to_source(detection, view.to_source)
    return face if landmarks_agree(face, detected) else None


def upright_cut(image: np.ndarray, proposal: Face) -> View:
    """The proposal cut out upright (by its estimated roll), CUT_SIZE pixels square."""
    side = max(proposal.size, 1.0) / FACE_FRACTION_OF_CUT
    crop = FaceCrop(center=proposal.center, size=(side, side), angle=proposal.roll,
                    output_size=(CUT_SIZE, CUT_SIZE))
    return cut(image, crop)


def orientation_views(cut_view: View) -> list[View]:
    """The cut-out shrunk and turned by 0, 90, 180 and 270 degrees, as views whose
    ``to_source`` maps into the cut-out's own pixels (not the image's)."""
    small = cv2.resize(cut_view.pixels, (ORIENTATION_TILE, ORIENTATION_TILE),
                       interpolation=cv2.INTER_AREA)
    shrink = Affine.scaling(cut_view.size[0] / ORIENTATION_TILE,
                            cut_view.size[1] / ORIENTATION_TILE)
    views = []
    for turn in (0, 90, 180, 270):
        turned = rotated(small, turn)
        views.append(View(turned.pixels, turned.to_source.then(shrink), f"turn {turn}"))
    return views


def best_orientation(cut_view: View, min_score: float) -> Face | None:
    """The best detection near the centre of the four turned copies, in the cut-out's
    pixels (so its roll says how the face lies in the cut-out); None if none qualifies."""
    views = orientation_views(cut_view)
    tile = ORIENTATION_TILE
    origins = [(0, 0), (tile, 0), (0, tile), (tile, tile)]
    mosaic = np.zeros((2 * tile, 2 * tile, *cut_view.pixels.shape[2:]), dtype=np.uint8)
    for (x, y), view in zip(origins, views, strict=True):
        mosaic[y:y + tile, x:x + tile] = view.pixels
    expected = FACE_FRACTION_OF_CUT * tile
    best: Face | None = None
    for detection in propose_candidates(mosaic, min_score=min_score):
        cx, cy = detection.center
        index = int(cy >= tile) * 2 + int(cx >= tile)
        x, y = origins[index]
        offset = math.hypot(cx - x - tile / 2.0, cy - y - tile / 2.0)
        if offset > MAX_CENTER_OFFSET * max(detection.size, expected):
            continue
        if not 1.0 / MAX_SIZE_FACTOR <= detection.size / expected <= MAX_SIZE_FACTOR:
            continue
        if best is None or detection.score > best.score:
            to_cut = Affine.translation(-x, -y).then(views[index].to_source)
            best = face_to_source(detection, to_cut)
    return best


def landmarks_agree(face: Face, detected: Face) -> bool:
    """Whether the landmark model's face and BlazeFace's detection are the same face:
    same roll, and the eyes where the detector put them."""
    if angle_difference(face.roll, detected.roll) > MAX_ROLL_DISAGREEMENT:
        return False
    eye_distance = math.dist(face.landmarks[LEFT_EYE], face.landmarks[RIGHT_EYE])
    if eye_distance <= 0:
        return False
    for eye in (LEFT_EYE, RIGHT_EYE):
        if eye not in detected.landmarks:
            return False
        if math.dist(face.landmarks[eye], detected.landmarks[eye]) > (
                MAX_EYE_DISAGREEMENT * eye_distance):
            return False
    return True


def landmarks_in_region(pixels: np.ndarray, detection: Face) -> np.ndarray | None:
    """The 478 face landmarks (pixels, shape (478, 2)) of the face a detection found in
    ``pixels``, or None when the landmark model sees no face there."""
    from mediapipe.framework.formats import rect_pb2

    height, width = pixels.shape[:2]
    side = LANDMARK_REGION_SCALE * max(detection.region.size)
    # NormalizedRect.rotation is clockwise on screen, in radians: minus the roll.
    region = rect_pb2.NormalizedRect(
        x_center=detection.center[0] / width, y_center=detection.center[1] / height,
        width=side / width, height=side / height, rotation=-math.radians(detection.roll))
    result = mediapipe_runtime.face_landmarks_in_region().process_inputs(
        {IMAGE_STREAM: pixels, ROI_STREAM: region})
    if result.landmarks is None:
        return None
    return np.asarray(result.landmarks, dtype=np.float64).reshape(-1, 2)
