"""Colour match in numbers: the colour step at the seam with and without it.

    python bench/bench_colour_match.py [--mask ellipse selfie]

Real photos with faces (scikit-image's astronaut, also turned 30 degrees, and camera;
matplotlib's grace_hopper; the demo scene with four faces at several sizes and rolls) go
through the whole pipeline with a face pass that shifts colour and brightness
(lib_facepop/processors/shift.py), once with colour match off and once on. The number is
``lib_facepop.seam.seam_colour_difference``: the mean CIEDE2000 between the composite and
the source on the inner half of the blended masks' soft edge (mask 0.5-0.95), both blurred
with sigma 2 px; outside the masks the composite is the source exactly, so this is the
colour step across the seam. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lib_facepop.demo import astronaut, demo_scene  # noqa: E402
from lib_facepop.detect import create_detector  # noqa: E402
from lib_facepop.masks import create_mask_source  # noqa: E402
from lib_facepop.pipeline import FacePipeline  # noqa: E402
from lib_facepop.processors import IdentityProcessor  # noqa: E402
from lib_facepop.processors.shift import SHIFTS, ColourShift, ColourShiftProcessor  # noqa: E402
from lib_facepop.processors.stylize import StylizeProcessor  # noqa: E402
from lib_facepop.seam import seam_colour_difference  # noqa: E402
from lib_facepop.settings import FacePopSettings  # noqa: E402


def photos() -> dict[str, np.ndarray]:
    import cv2
    from matplotlib import cbook
    from PIL import Image
    from skimage import data

    photo = astronaut()
    h, w = photo.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), 30, 1.0)
    turned = cv2.warpAffine(photo, turn, (w, h), borderMode=cv2.BORDER_REFLECT_101)
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        hopper = np.asarray(Image.open(f).convert("RGB"))
    camera = np.repeat(data.camera()[:, :, None], 3, axis=2)
    return {"astronaut": photo, "astronaut turned 30": turned, "grace_hopper": hopper,
            "camera": camera, "demo scene (4 faces)": demo_scene()}


def processors() -> list[tuple[str, object]]:
    made: list[tuple[str, object]] = [("none (identity)", IdentityProcessor())]
    made += [(shift.name, ColourShiftProcessor(shift)) for shift in SHIFTS]
    made.append(("stylize (no shift)", StylizeProcessor()))
    warm = ColourShift("stylize + warm", gain=(0.9, 0.9, 0.9), offset=(16, 2, -10))
    made.append((warm.name, ColourShiftProcessor(warm, inner=StylizeProcessor())))
    return made


def _seam(pipeline: FacePipeline, analysed, settings: FacePopSettings,
          costs: list[float]) -> float:
    result = pipeline.finish(analysed, settings)
    if settings.colour_match:
        costs.append(1000.0 * result.timings["colour_match"] / len(result.faces))
    return seam_colour_difference(result.source, result.image, result.face_mask)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mask", nargs="+", default=["ellipse", "selfie"],
                        choices=("ellipse", "selfie", "modnet"))
    args = parser.parse_args()
    print("| photo | mask | face pass | faces | seam ΔE2000, colour match off | on | "
          "off / on |")
    print("|---|---|---|---|---|---|---|")
    totals: dict[str, list[tuple[float, float]]] = {}
    costs: list[float] = []
    for mask_name in args.mask:
        base = FacePopSettings(enabled=True, mask_source=mask_name, max_faces=0)
        detector = create_detector(base)
        mask_source = create_mask_source(base)
        for photo_name, image in photos().items():
            for label, processor in processors():
                pipeline = FacePipeline(detector, mask_source, processor)
                analysed = pipeline.analyse(image, base)
                if not analysed.faces:
                    print(f"| {photo_name} | {mask_name} | {label} | 0 | - | - | - |")
                    continue
                off, on = (_seam(pipeline, analysed, base.replace(colour_match=flag), costs)
                           for flag in (False, True))
                totals.setdefault(label, []).append((off, on))
                ratio = f"{off / on:.1f}x" if on > 0 else "-"
                print(f"| {photo_name} | {mask_name} | {label} | {len(analysed.faces)} | "
                      f"{off:.2f} | {on:.2f} | {ratio} |", flush=True)
    print()
    print("| face pass | seam ΔE2000, colour match off: median (range) | on |")
    print("|---|---|---|")
    for label, pairs in totals.items():
        print(f"| {label} | {_summary([p[0] for p in pairs])} | "
              f"{_summary([p[1] for p in pairs])} |")
    print()
    print(f"Colour match per face (720 px): median {statistics.median(costs):.1f} ms, "
          f"{len(costs)} runs.")


def _summary(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


if __name__ == "__main__":
    main()
