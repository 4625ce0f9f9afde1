"""FacePop's own CPU work per face at 720 px: alignment, each mask source, paste-back.

    python bench/bench_masks.py [--runs 15]

Uses the astronaut photo scikit-image ships, turned 30 degrees so alignment really rotates,
and a MODNet with random weights exported to a temporary folder (same graph and cost as the
official weights). Prints a markdown table: median / min / max milliseconds per face.
Detection is measured separately (bench/bench_detect.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lib_facepop.align import align_face  # noqa: E402
from lib_facepop.blend import PasteBack, blend_faces  # noqa: E402
from lib_facepop.demo import astronaut  # noqa: E402
from lib_facepop.detect import DetectionOptions, SinglePassDetector  # noqa: E402
from lib_facepop.masks import EllipseMaskSource, ModnetMaskSource, SelfieMaskSource  # noqa: E402
from lib_facepop.settings import FacePopSettings  # noqa: E402


def timed(step: Callable[[], object], runs: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000.0)
    return times


def turned_photo() -> np.ndarray:
    import cv2

    photo = astronaut()
    h, w = photo.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), 30, 1.0)
    return cv2.warpAffine(photo, matrix, (w, h), borderMode=cv2.BORDER_REFLECT_101)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)

    from modnet import load_matting_session
    from modnet.export import export_random_onnx

    image = turned_photo()
    settings = FacePopSettings()
    face = SinglePassDetector().detect(image, DetectionOptions())[0]
    aligned = align_face(image, face, settings)
    rows: list[tuple[str, list[float]]] = [
        ("align (crop, rotate, resize to 720)",
         timed(lambda: align_face(image, face, settings), args.runs)),
    ]
    with tempfile.TemporaryDirectory() as folder:
        session = load_matting_session(export_random_onnx(Path(folder) / "modnet.onnx"))
        modnet = ModnetMaskSource(session)
        sources = [("mask: ellipse", EllipseMaskSource()), ("mask: selfie segmentation",
                                                           SelfieMaskSource()),
                   (f"mask: MODNet {session.provider}, {modnet.short_side} px", modnet)]
        masks = {}
        for label, source in sources:
            rows.append((label, timed(lambda s=source: s.make_mask(aligned, settings),
                                      args.runs)))
            masks[label] = source.make_mask(aligned, settings)
        if "CUDA" not in session.provider:
            modnet.short_side = 512
            rows.append((f"mask: MODNet {session.provider}, 512 px",
                         timed(lambda: modnet.make_mask(aligned, settings), args.runs)))
    paste = PasteBack(face_image=aligned.image, mask=next(iter(masks.values())).mask,
                      to_aligned=aligned.transform, crop_corners=aligned.crop.corners())
    rows.append(("blend (warp back, composite)",
                 timed(lambda: blend_faces(image, [paste]), args.runs)))

    print(f"FacePop per-face CPU work, 720x720 face, {args.runs} runs after warm-up\n")
    print("| step | median ms | min ms | max ms |")
    print("|---|---|---|---|")
    for label, times in rows:
        print(f"| {label} | {statistics.median(times):.1f} | {min(times):.1f} | "
              f"{max(times):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
