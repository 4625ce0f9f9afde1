"""``facepop detect``: find faces and print them (JSON Lines with --json, docs/design.md
section 3.1)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from lib_facepop.cli.arguments import max_pixels, settings_from_args
from lib_facepop.cli.errors import EXIT_ERROR
from lib_facepop.errors import FacePopError


def detect_command(args: argparse.Namespace) -> int:
    from lib_facepop.batch.inputs import expand_inputs
    from lib_facepop.debug import face_records
    from lib_facepop.detect import DetectionOptions, create_detector, select_faces
    from lib_facepop.images import read_image

    settings = settings_from_args(args)
    found = expand_inputs(args.images, recursive=args.recursive)
    failures = [f"{given}: {reason}" for given, reason in found.missing]
    detector = create_detector(settings)
    options = DetectionOptions.from_settings(settings)
    every_face = DetectionOptions(confidence=options.confidence,
                                  min_face_size=options.min_face_size, order=options.order)
    for item in _progress(found.images, "detect"):
        try:
            image = read_image(item.path, max_pixels(args), "--max-megapixels").rgb
        except FacePopError as exc:
            failures.append(str(exc))
            continue
        detected = detector.detect(image, options)
        eligible = select_faces(detected, every_face)
        too_small = [face for face in detected if face not in eligible]
        processed = eligible[:options.max_faces] if options.max_faces > 0 else eligible
        record = {"image": item.shown, "width": int(image.shape[1]),
                  "height": int(image.shape[0]),
                  "faces": face_records([*eligible, *too_small], processed)}
        print(json.dumps(record) if args.json else _describe(record), flush=True)
    for message in failures:
        print(f"facepop: {message}", file=sys.stderr)
    return EXIT_ERROR if failures else 0


def _describe(record: dict) -> str:
    faces = record["faces"]
    processed = sum(1 for face in faces if face["processed"])
    lines = [f"{record['image']}: {record['width']}x{record['height']}, "
             f"{len(faces)} face(s), {processed} to process"]
    for face in faces:
        x0, y0, x1, y1 = face["box"]
        label = f"#{face['index']}" if face["processed"] else "skip"
        lines.append(f"  {label} box ({x0:.0f}, {y0:.0f})-({x1:.0f}, {y1:.0f}) "
                     f"score {face['score']:.2f} roll {face['roll']:+.1f}")
    return "\n".join(lines)


def _progress(items: Sequence[Any], what: str) -> Iterable[Any]:
    if len(items) < 2:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=f"facepop {what}", unit="image", file=sys.stderr,
                disable=None, leave=False)
