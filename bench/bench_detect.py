"""Face detection benchmark: plain MediaPipe full-range against FacePop, in one run.

    python bench/bench_detect.py            # prints a markdown table
    python bench/bench_detect.py --save DIR # also writes every image with its detections

The evaluation set is described in detect_dataset.py. The first run downloads
insightface's wheel (~1 MB, for its group photo) with pip into
bench/.cache/; without it the bench runs on the other photos and says so.

A detection matches a true face when its centre is within half the face's size of the
true centre and its size within a factor of two; each true face matches at most one
detection. Unmatched detections are false positives, except inside an 'ignore' region.
Every method sees every image in turn (so machine load hits all alike); time is wall
clock and CPU time (all threads of the process) per image, after one warm-up image.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import detect_dataset
import numpy as np
from detect_dataset import Sample, TruthFace

from lib_facepop.faces import angle_difference, roll_from_eyes

SMALL_FACE = 48.0


@dataclass(frozen=True)
class Found:
    center: tuple[float, float]
    size: float
    roll: float


@dataclass
class Tally:
    """What one method did over the whole set."""

    name: str
    truths: list[TruthFace] = field(default_factory=list)
    truth_kinds: list[str] = field(default_factory=list)
    matched: list[bool] = field(default_factory=list)
    roll_errors: list[float] = field(default_factory=list)
    false_positives: int = 0
    images: int = 0
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def recall(self, keep: Callable[[TruthFace, str], bool]) -> tuple[int, int]:
        pairs = [m for t, k, m in zip(self.truths, self.truth_kinds, self.matched, strict=True)
                 if keep(t, k)]
        return sum(pairs), len(pairs)


# --- methods ------------------------------------------------------------------------------

class PlainMediaPipe:
    """MediaPipe's own full-range face detection, as most face detailers use it."""

    name = "MediaPipe full-range (confidence 0.3)"

    def __init__(self) -> None:
        import mediapipe as mp

        self.solution = mp.solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=0.3)

    def __call__(self, image: np.ndarray) -> list[Found]:
        height, width = image.shape[:2]
        found = []
        for detection in self.solution.process(image).detections or []:
            box = detection.location_data.relative_bounding_box
            keypoints = detection.location_data.relative_keypoints
            # MediaPipe's "right eye" (keypoint 0) is the one on the viewer's left.
            left = (keypoints[0].x * width, keypoints[0].y * height)
            right = (keypoints[1].x * width, keypoints[1].y * height)
            w, h = box.width * width, box.height * height
            found.append(Found((box.xmin * width + w / 2, box.ymin * height + h / 2),
                               math.sqrt(max(w * h, 0.0)), roll_from_eyes(left, right)))
        return found


class FacePopMethod:
    """A FacePop detector with the default settings, except: keep every face (and, if
    given, a smaller view budget for the aggressive search)."""

    def __init__(self, name: str, aggressive: bool, max_views: int | None = None) -> None:
        from lib_facepop.detect import AggressiveDetector, DetectionOptions, create_detector
        from lib_facepop.detect.search_plan import SearchSettings
        from lib_facepop.settings import FacePopSettings

        settings = FacePopSettings(aggressive_detection=aggressive, max_faces=0)
        self.name = name
        self.detector = create_detector(settings)
        if max_views is not None:
            self.detector = AggressiveDetector(SearchSettings(max_views=max_views))
        self.options = DetectionOptions.from_settings(settings)

    def __call__(self, image: np.ndarray) -> list[Found]:
        from lib_facepop.detect import select_faces

        faces = select_faces(self.detector.detect(image, self.options), self.options)
        return [Found(face.center, face.size, face.roll) for face in faces]


# --- scoring ------------------------------------------------------------------------------

def match(truths: Sequence[TruthFace], found: Sequence[Found]) -> dict[int, int]:
    """Truth index -> found index, greedily by distance."""
    pairs = []
    for i, truth in enumerate(truths):
        for j, face in enumerate(found):
            distance = math.dist(truth.center, face.center)
            ratio = face.size / truth.size
            if distance < 0.5 * truth.size and 0.5 <= ratio <= 2.0:
                pairs.append((distance, i, j))
    matched: dict[int, int] = {}
    used: set[int] = set()
    for _, i, j in sorted(pairs):
        if i not in matched and j not in used:
            matched[i] = j
            used.add(j)
    return matched


def inside(point: tuple[float, float], box: tuple[float, float, float, float]) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def score(tally: Tally, sample: Sample, found: list[Found]) -> list[bool]:
    matched = match(sample.faces, found)
    tally.images += 1
    for i, truth in enumerate(sample.faces):
        tally.truths.append(truth)
        tally.truth_kinds.append(sample.kind)
        tally.matched.append(i in matched)
        if i in matched:
            tally.roll_errors.append(angle_difference(found[matched[i]].roll, truth.roll))
    used = set(matched.values())
    wrong = [j not in used and not any(inside(f.center, box) for box in sample.ignore)
             for j, f in enumerate(found)]
    tally.false_positives += sum(wrong)
    return wrong


# --- report -------------------------------------------------------------------------------

def percent(hit: int, total: int) -> str:
    return f"{100.0 * hit / total:.1f} % ({hit}/{total})" if total else "-"


def roll_band(low: float, high: float) -> Callable[[TruthFace, str], bool]:
    return lambda t, _k: t.size >= SMALL_FACE and low <= abs(t.roll) <= high


def table(tallies: Sequence[Tally]) -> str:
    base_wall = float(np.median(tallies[0].wall))
    base_cpu = float(np.median(tallies[0].cpu))
    rows = [
        "| | " + " | ".join(t.name for t in tallies) + " |",
        "|---|" + "---|" * len(tallies),
    ]

    def row(label: str, cell: Callable[[Tally], str]) -> None:
        rows.append(f"| {label} | " + " | ".join(cell(t) for t in tallies) + " |")

    row("recall, faces >= 48 px", lambda t: percent(*t.recall(
        lambda f, _k: f.size >= SMALL_FACE)))
    row("... roll within 45 deg", lambda t: percent(*t.recall(roll_band(0, 45))))
    row("... roll 45-135 deg", lambda t: percent(*t.recall(roll_band(45.0001, 135))))
    row("... roll 135-180 deg", lambda t: percent(*t.recall(roll_band(135.0001, 180))))
    row("... in group photos", lambda t: percent(*t.recall(
        lambda f, k: f.size >= SMALL_FACE and k == "group")))
    row("recall, all faces (40 px and up)", lambda t: percent(*t.recall(lambda f, k: True)))
    row("false positives per 20 images", lambda t: f"{20.0 * t.false_positives / t.images:.2f}"
        f" ({t.false_positives} in {t.images})")
    row("median roll error", lambda t: f"{np.median(t.roll_errors):.1f} deg"
        if t.roll_errors else "-")
    row("median time per image, wall", lambda t: f"{1000 * np.median(t.wall):.1f} ms")
    row("median time per image, CPU", lambda t: f"{1000 * np.median(t.cpu):.1f} ms")
    row("time vs plain MediaPipe (wall / CPU)",
        lambda t: f"{np.median(t.wall) / base_wall:.1f}x / {np.median(t.cpu) / base_cpu:.1f}x")
    return "\n".join(rows)


def describe(samples: Sequence[Sample]) -> str:
    kinds = {kind: [s for s in samples if s.kind == kind] for kind in
             ("scene", "group", "negative")}
    faces = sum(len(s.faces) for s in samples)
    small = sum(1 for s in samples for f in s.faces if f.size >= SMALL_FACE)
    return (f"{len(samples)} images: {len(kinds['scene'])} scenes, {len(kinds['group'])} "
            f"group photos, {len(kinds['negative'])} without faces; {faces} faces, {small} "
            f"of them >= {SMALL_FACE:.0f} px")


def draw(sample: Sample, found: list[Found], wrong: list[bool], path: Path) -> None:
    import cv2
    from PIL import Image

    image = sample.image.copy()
    for truth in sample.faces:
        cv2.circle(image, tuple(int(v) for v in truth.center), int(truth.size / 2),
                   (0, 255, 0), 2)
    for face, bad in zip(found, wrong, strict=True):
        r = math.radians(face.roll)
        tip = (face.center[0] - 0.6 * face.size * math.sin(r),
               face.center[1] - 0.6 * face.size * math.cos(r))
        color = (255, 0, 0) if bad else (255, 255, 0)
        cv2.circle(image, tuple(int(v) for v in face.center), int(face.size / 2), color, 1)
        cv2.line(image, tuple(int(v) for v in face.center), tuple(int(v) for v in tip),
                 color, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scenes", type=int, default=60)
    parser.add_argument("--negatives", type=int, default=24)
    parser.add_argument("--save", type=Path, help="write annotated images here")
    parser.add_argument("--budgets", type=int, nargs="*", default=[16],
                        help="also run the aggressive search with these view budgets "
                             "(default: 16; the detector's own default is 48)")
    args = parser.parse_args(argv)

    samples = list(detect_dataset.build(seed=args.seed, scenes=args.scenes,
                                        negatives=args.negatives))
    methods = [PlainMediaPipe(), FacePopMethod("FacePop, single pass", aggressive=False),
               FacePopMethod("FacePop, aggressive (default)", aggressive=True)]
    methods += [FacePopMethod(f"FacePop, aggressive, {budget} views at most", True, budget)
                for budget in args.budgets]
    tallies = [Tally(method.name) for method in methods]
    for method in methods:
        method(samples[0].image)  # warm-up: graphs built, first-call costs paid
    for sample in samples:
        for method, tally in zip(methods, tallies, strict=True):
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            found = method(sample.image)
            tally.wall.append(time.perf_counter() - start_wall)
            tally.cpu.append(time.process_time() - start_cpu)
            wrong = score(tally, sample, found)
            if args.save is not None:
                label = tally.name.replace(" ", "_").replace(",", "").replace("(", "")
                draw(sample, found, wrong, args.save / f"{sample.name}-{label[:24]}.png")
    print(describe(samples))
    print()
    print(table(tallies))
    return 0


if __name__ == "__main__":
    sys.exit(main())
