"""Makes the pictures of docs/quality.md: restore, upscale, eyes and colour match.

    python docs/make_pictures.py [--out docs]

Each picture is put together from the files of a debugging folder (written to a temporary
folder), on photos that packages ship: scikit-image's astronaut and the demo scene.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lib_facepop.debug import DebugFolder, _tile  # noqa: E402
from lib_facepop.demo import astronaut  # noqa: E402
from lib_facepop.detect import create_detector  # noqa: E402
from lib_facepop.face_pass import MainJob  # noqa: E402
from lib_facepop.masks import create_mask_source  # noqa: E402
from lib_facepop.pipeline import FacePipeline  # noqa: E402
from lib_facepop.processors.shift import SHIFTS, ColourShiftProcessor  # noqa: E402
from lib_facepop.processors.stylize import StylizeProcessor  # noqa: E402
from lib_facepop.settings import FacePopSettings  # noqa: E402

TILE = 180
FACE_WINDOW = (slice(10, 250), slice(110, 340))  # the astronaut's head


def _debug_run(processor, image, settings: FacePopSettings, scratch: Path) -> Path:
    pipeline = FacePipeline(create_detector(settings), create_mask_source(settings),
                            processor)
    result = pipeline.run(image, settings, MainJob(seed=1))
    return DebugFolder(scratch).write("picture", result, settings)


def _read(folder: Path, name: str) -> np.ndarray:
    return np.asarray(Image.open(folder / name).convert("RGB"))


def _strip(tiles: list[tuple[np.ndarray, str]], height: int = TILE) -> np.ndarray:
    made = [_tile(picture, caption, height=height) for picture, caption in tiles]
    gap = np.full((made[0].shape[0], 6, 3), 18, np.uint8)
    parts = []
    for tile in made:
        parts += [tile, gap]
    return np.hstack(parts[:-1])


def colour_match_picture(scratch: Path) -> np.ndarray:
    photo = astronaut()
    processor = ColourShiftProcessor(SHIFTS[0])  # warm and darker, as passes often drift
    settings = FacePopSettings(enabled=True, debug=True)
    off = _debug_run(processor, photo, settings.replace(colour_match=False), scratch / "off")
    on = _debug_run(processor, photo, settings, scratch / "on")
    return _strip([
        (photo[FACE_WINDOW], "source"),
        (_read(off, "91-composite.png")[FACE_WINDOW], "colour match off"),
        (_read(on, "91-composite.png")[FACE_WINDOW], "colour match on"),
    ], height=260)


def eyes_picture(scratch: Path) -> np.ndarray:
    settings = FacePopSettings(enabled=True, debug=True, eyes_pass=True,
                               keep_original_eyes=True)
    folder = _debug_run(StylizeProcessor(), astronaut(), settings, scratch / "eyes")
    return _strip([
        (_read(folder, "face-00-5-processed.png"), "face pass (stylize)"),
        (_read(folder, "face-00-7-eyes-crop.png"), "eyes crop (original eyes)"),
        (_read(folder, "face-00-7-eyes-mask.png"), "eye mask"),
        (_read(folder, "face-00-8-eyes-processed.png"), "eyes pass (stylize)"),
        (_read(folder, "face-00-9-colour-matched.png"), "pasted back"),
    ])


def upscale_picture(scratch: Path) -> np.ndarray:
    # The astronaut's face at about 60 px, as in a long shot.
    small = cv2.resize(astronaut(), (128, 128), interpolation=cv2.INTER_AREA)
    scene = np.full((360, 480, 3), 60, np.uint8)
    scene[100:228, 170:298] = small
    tiles = []
    for upscaler, enhance, caption in (("None", "none", "one bicubic step"),
                                       ("Lanczos", "none", "Lanczos (default)"),
                                       ("Lanczos", "unsharp_mask", "Lanczos + unsharp mask")):
        settings = FacePopSettings(enabled=True, debug=True, upscaler=upscaler,
                                   enhance_filter=enhance, min_face_size=0)
        folder = _debug_run(StylizeProcessor(), scene, settings, scratch / caption)
        name = "face-00-4-pass-input.png" if enhance != "none" else "face-00-1-aligned.png"
        tiles.append((_read(folder, name)[200:520, 200:520], caption))
    return _strip(tiles)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        for name, make in (("colour-match.png", colour_match_picture),
                           ("eyes.png", eyes_picture),
                           ("upscale.png", upscale_picture)):
            picture = make(Path(scratch))
            Image.fromarray(picture).save(args.out / name, optimize=True)
            print(f"wrote {args.out / name}")


if __name__ == "__main__":
    main()
