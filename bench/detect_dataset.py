"""The face detection evaluation set, built deterministically from real photos that
packages ship.

* Scenes: real one-face photos (scikit-image's astronaut and camera, matplotlib's
  grace_hopper) cut out head and shoulders, scaled so the
  face is 40 to 320 px, turned to rolls all round the circle, and pasted 2 to 4 at a time
  onto 1920x1080 or 1080x810 backgrounds of real face-free photos (scikit-image's coffee,
  chelsea the cat, rocket, hubble_deep_field, ...), sharp or blurred.
  Truth by construction: each photo's face (centre, size, roll) is measured once in the
  upright photo by MediaPipe's stock detector and face mesh, then moved with the photo.
* Group photos: insightface's t1.jpg (six people), as it is and scaled and turned into
  larger frames. Truth: group_t1_faces.json, eye positions checked by eye (see there).
* Negatives: the same kinds of backgrounds with no face at all.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from lib_facepop.faces import normalize_angle, roll_from_eyes

FRAME_SIZES = ((1920, 1080), (1080, 810))
FACE_SIZES = (40, 48, 56, 64, 80, 96, 128, 160, 240, 320)
GROUP_JSON = Path(__file__).with_name("group_t1_faces.json")
# (Not "coins": its Greek coins show heads in relief, faces by any fair count.)
BACKGROUND_NAMES = ("coffee", "chelsea", "rocket", "hubble_deep_field",
                    "immunohistochemistry", "brick", "gravel", "grass", "clock", "moon",
                    "stereo_motorcycle", "retina", "colorwheel")
# How much of the photo around its face each pasted cut-out shows (in face sizes).
CUTOUT_SPAN = 2.6


@dataclass(frozen=True)
class TruthFace:
    center: tuple[float, float]
    size: float
    roll: float
    source: str = ""  # which photo the face comes from


@dataclass
class Sample:
    name: str
    kind: str  # "scene", "group" or "negative"
    image: np.ndarray
    faces: list[TruthFace]
    # Regions where a detection is neither right nor wrong (a tiny painted face).
    ignore: list[tuple[float, float, float, float]] = field(default_factory=list)


@dataclass(frozen=True)
class FacePhoto:
    """A real photo with one face, and that face measured in the upright photo."""

    name: str
    image: np.ndarray
    face: TruthFace


# --- sources --------------------------------------------------------------------------------

def background_photo(name: str) -> np.ndarray:
    from skimage import data

    image = getattr(data, name)()
    if isinstance(image, tuple):
        image = image[0]
    return to_rgb(image)


def to_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = np.clip(image * (255.0 if image.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return np.ascontiguousarray(image[:, :, :3])


def one_face_photos() -> list[FacePhoto]:
    """The one-face photos, each with its face measured by MediaPipe's stock models.

    (insightface's Tom_Hanks_54745.png is left out: it is a 112 px crop of the face alone,
    cut at brow and chin, with no head around it; pasted small it is no face in a scene.)
    """
    from matplotlib import cbook
    from PIL import Image
    from skimage import data

    photos = {"astronaut": to_rgb(data.astronaut()), "camera": to_rgb(data.camera())}
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        photos["grace_hopper"] = to_rgb(np.asarray(Image.open(f).convert("RGB")))
    return [FacePhoto(name, image, measure_face(image)) for name, image in photos.items()]


def measure_face(image: np.ndarray) -> TruthFace:
    """The face of a one-face upright photo, by MediaPipe's stock full-range detector and
    face mesh (the photo is padded first, so a tight portrait is seen whole)."""
    from lib_facepop.detect.blazeface import detect_candidates
    from lib_facepop.detect.landmarks import refine_with_mesh

    pad = max(image.shape[:2]) // 2
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    candidates = detect_candidates(padded, min_score=0.5)
    if not candidates:
        raise RuntimeError("no face found in a source photo")
    best = max(candidates, key=lambda f: f.score)
    face = refine_with_mesh(padded, best)
    if face is None:
        raise RuntimeError("the face mesh did not confirm a source photo's face")
    center = (face.center[0] - pad, face.center[1] - pad)
    return TruthFace(center=center, size=face.size, roll=face.roll)


def read_from_wheel(wheel: Path, member: str) -> np.ndarray:
    import io
    import zipfile

    from PIL import Image

    with zipfile.ZipFile(wheel) as archive:
        return np.asarray(Image.open(io.BytesIO(archive.read(member))).convert("RGB"))


def fetch_insightface_wheel(cache: Path) -> Path | None:
    """insightface's wheel (pure Python, ~1 MB), which ships the group photo t1.jpg.

    Downloaded once with pip into ``cache``; None (with a note) when that fails.
    """
    import subprocess
    import sys

    found = sorted(cache.glob("insightface-2.1-*.whl"))
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
               "--quiet", "insightface==2.1", "-d", str(cache)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    found = sorted(cache.glob("insightface-2.1-*.whl"))
    if result.returncode != 0 or not found:
        print(f"note: could not download insightface's wheel ({result.stderr.strip()[-200:]});"
              f" running without the group photo", flush=True)
        return None
    return found[0]


def group_photo(insightface_wheel: Path) -> tuple[np.ndarray, list[TruthFace], list]:
    """insightface's t1.jpg and its hand-checked faces."""
    image = to_rgb(read_from_wheel(insightface_wheel, "insightface/data/images/t1.jpg"))
    truth = json.loads(GROUP_JSON.read_text())
    faces = []
    for face in truth["faces"]:
        left, right = face["left_eye"], face["right_eye"]
        faces.append(TruthFace(center=tuple(face["center"]), size=float(face["size"]),
                               roll=roll_from_eyes(tuple(left), tuple(right)), source="t1"))
    return image, faces, [tuple(box) for box in truth["ignore"]]


# --- composition ----------------------------------------------------------------------------

def background(rng: np.random.Generator, size: tuple[int, int],
               name: str | None = None) -> np.ndarray:
    """A face-free real photo cropped and resized to ``size``, sometimes blurred."""
    width, height = size
    photo = background_photo(name or str(rng.choice(BACKGROUND_NAMES)))
    ph, pw = photo.shape[:2]
    aspect = width / height
    crop_w = min(pw, int(ph * aspect))
    crop_w = int(crop_w * rng.uniform(0.6, 1.0))
    crop_h = min(ph, max(8, int(round(crop_w / aspect))))
    x0 = int(rng.integers(0, pw - crop_w + 1))
    y0 = int(rng.integers(0, ph - crop_h + 1))
    frame = cv2.resize(photo[y0:y0 + crop_h, x0:x0 + crop_w], (width, height),
                       interpolation=cv2.INTER_CUBIC)
    sigma = float(rng.choice([0.0, 0.0, 2.0, 6.0]))
    if sigma > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), sigma)
    return frame


def paste(frame: np.ndarray, photo: np.ndarray, matrix: np.ndarray,
          mask: np.ndarray | None = None) -> None:
    """Paste ``photo`` into ``frame`` through a 2x3 OpenCV matrix, with soft edges."""
    h, w = frame.shape[:2]
    if mask is None:
        mask = np.ones(photo.shape[:2], np.float32)
    moved = cv2.warpAffine(photo, matrix, (w, h), flags=cv2.INTER_AREA
                           if abs(np.linalg.det(matrix[:, :2])) < 1 else cv2.INTER_CUBIC)
    alpha = cv2.warpAffine(mask, matrix, (w, h), flags=cv2.INTER_LINEAR)[:, :, None]
    mixed = frame.astype(np.float32) * (1.0 - alpha) + moved.astype(np.float32) * alpha
    frame[:] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)


def feathered_square(side: int, feather: float) -> np.ndarray:
    ramp = np.clip((np.minimum(np.arange(side), np.arange(side)[::-1]) + 0.5) / feather, 0, 1)
    return np.outer(ramp, ramp).astype(np.float32)


def similarity(center_from: tuple[float, float], center_to: tuple[float, float],
               scale: float, degrees: float) -> np.ndarray:
    """2x3 OpenCV matrix: scale and turn (counter-clockwise on screen) about center_from,
    then move it to center_to. Pixel-centre coordinates of OpenCV; the shifts cancel."""
    matrix = cv2.getRotationMatrix2D(center_from, degrees, scale)
    matrix[:, 2] += (center_to[0] - center_from[0], center_to[1] - center_from[1])
    return matrix


def place_face(frame: np.ndarray, photo: FacePhoto, size: float, roll: float,
               center: tuple[float, float]) -> TruthFace:
    """Paste the photo's head and shoulders so its face is ``size`` px, turned by ``roll``
    degrees, centred at ``center``; return the pasted face's truth."""
    fx, fy = photo.face.center
    half = CUTOUT_SPAN * photo.face.size / 2.0
    h, w = photo.image.shape[:2]
    x0, y0 = int(max(0, fx - half)), int(max(0, fy - half))
    x1, y1 = int(min(w, fx + half)), int(min(h, fy + half))
    cutout = np.ascontiguousarray(photo.image[y0:y1, x0:x1])
    side = max(x1 - x0, y1 - y0)
    mask = feathered_square(side, 0.08 * side)[:y1 - y0, :x1 - x0]
    scale = size / photo.face.size
    # Continuous coordinates -> OpenCV pixel centres: subtract 0.5 on both sides (cancels).
    matrix = similarity((fx - x0 - 0.5, fy - y0 - 0.5), (center[0] - 0.5, center[1] - 0.5),
                        scale, roll)
    paste(frame, cutout, matrix, np.ascontiguousarray(mask))
    return TruthFace(center=center, size=size, roll=normalize_angle(photo.face.roll + roll),
                     source=photo.name)


def scene(rng: np.random.Generator, photos: list[FacePhoto], index: int) -> Sample:
    width, height = FRAME_SIZES[index % len(FRAME_SIZES)]
    frame = background(rng, (width, height))
    count = int(rng.integers(2, 5))
    faces: list[TruthFace] = []
    taken: list[tuple[float, float, float]] = []
    for _ in range(count):
        for _attempt in range(50):
            size = float(rng.choice(FACE_SIZES))
            reach = CUTOUT_SPAN * size / 2.0
            margin = 0.6 * size
            if 2 * margin >= min(width, height):
                continue
            center = (float(rng.uniform(margin, width - margin)),
                      float(rng.uniform(margin, height - margin)))
            if all(math.dist(center, (cx, cy)) > reach + r for cx, cy, r in taken):
                break
        else:
            continue
        roll = float(rng.choice(np.arange(-180, 180, 30))) if rng.random() < 0.5 else \
            float(rng.uniform(-180, 180))
        photo = photos[int(rng.integers(len(photos)))]
        faces.append(place_face(frame, photo, size, roll, center))
        taken.append((center[0], center[1], reach))
    return Sample(f"scene-{index:03d}", "scene", frame, faces)


def group(rng: np.random.Generator, photo: np.ndarray, truth: list[TruthFace],
          ignore: list, index: int, scale: float, turn: float) -> Sample:
    """The group photo scaled and turned (counter-clockwise) into a frame."""
    if scale == 1.0 and turn == 0.0:
        return Sample(f"group-{index:02d}", "group", photo.copy(), list(truth), list(ignore))
    width, height = FRAME_SIZES[index % len(FRAME_SIZES)]
    frame = background(rng, (width, height))
    h, w = photo.shape[:2]
    source_center = (w / 2.0, h / 2.0)
    frame_center = (width / 2.0, height / 2.0)
    matrix = similarity((source_center[0] - 0.5, source_center[1] - 0.5),
                        (frame_center[0] - 0.5, frame_center[1] - 0.5), scale, turn)
    paste(frame, photo, matrix, feathered_square(max(w, h), 6)[:h, :w].copy())
    to_frame = np.vstack([matrix, [0, 0, 1]])
    to_frame[:2, 2] += 0.5 - to_frame[:2, :2] @ [0.5, 0.5]  # back to continuous coords
    faces = []
    for face in truth:
        c = to_frame[:2, :2] @ face.center + to_frame[:2, 2]
        if 0 <= c[0] < width and 0 <= c[1] < height:
            faces.append(TruthFace((float(c[0]), float(c[1])), face.size * scale,
                                   normalize_angle(face.roll + turn), "t1"))
    boxes = []
    for x0, y0, x1, y1 in ignore:
        corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)
        moved = corners @ to_frame[:2, :2].T + to_frame[:2, 2]
        boxes.append((*moved.min(axis=0), *moved.max(axis=0)))
    return Sample(f"group-{index:02d}", "group", frame, faces, boxes)


# (scale, turn) of each group frame.
GROUP_PLACEMENTS = ((1.0, 0.0), (0.5, 0.0), (0.5, 180.0), (0.6, 90.0), (0.6, -90.0),
                    (0.45, 30.0), (0.55, -45.0), (0.7, 135.0), (0.5, -150.0), (0.8, 60.0),
                    (0.45, -120.0), (0.65, 15.0))


def build(seed: int = 7, scenes: int = 60, negatives: int = 24,
          cache: Path | None = None) -> Iterator[Sample]:
    """The whole evaluation set, the same every time for the same arguments."""
    cache = cache or Path(os.environ.get("FACEPOP_BENCH_CACHE",
                                         Path(__file__).with_name(".cache")))
    wheel = fetch_insightface_wheel(cache)
    rng = np.random.default_rng(seed)
    photos = one_face_photos()
    for index in range(scenes):
        yield scene(rng, photos, index)
    if wheel is not None:
        photo, truth, ignore = group_photo(wheel)
        for index, (scale, turn) in enumerate(GROUP_PLACEMENTS):
            yield group(rng, photo, truth, ignore, index, scale, turn)
    for index in range(negatives):
        size = FRAME_SIZES[index % len(FRAME_SIZES)]
        name = "chelsea" if index % 4 == 0 else None  # the cat: a face that isn't a person
        yield Sample(f"negative-{index:02d}", "negative", background(rng, size, name), [])
