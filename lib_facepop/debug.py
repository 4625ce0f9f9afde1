"""The debugging folder: every step of a run as pictures, plus one contact sheet.

One folder per image and run, named ``<YYYYmmdd-HHMMSS-fff>-<stem>``. The file names are
listed in ``DEBUG_FILES`` and on docs/debugging.md.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from lib_facepop.faces import Face
from lib_facepop.images import mask_to_uint8, save_png
from lib_facepop.pipeline import PipelineResult, ProcessedFace
from lib_facepop.settings import FacePopSettings

log = logging.getLogger(__name__)

ImageWriter = Callable[[Path, np.ndarray], None]

DEBUG_FILES = {
    "00-input.png": "the image as FacePop received it",
    "01-detections.png": "every face found: box, landmarks, roll, crop; grey = not processed",
    "face-NN-1-aligned.png": "face NN cut out upright at the face-pass size",
    "face-NN-2-<layer>.png": "the mask's ingredients (region, matte, person, ...)",
    "face-NN-3-mask.png": "the final soft mask of face NN (white = replaced)",
    "face-NN-4-pass-input.png": "what the face pass received (after background removal)",
    "face-NN-5-processed.png": "face NN as the face pass returned it",
    "face-NN-6-restored.png": "face NN after face restoration",
    "face-NN-7-eyes-crop.png": "the eyes crop the eyes pass received (keep original eyes "
                               "alone: the source eyes put back)",
    "face-NN-7-eyes-mask.png": "the soft eye mask in the eyes crop (white = eyes replaced)",
    "face-NN-8-eyes-processed.png": "the eyes as the eyes pass returned them",
    "face-NN-9-colour-matched.png": "face NN after colour match: what is pasted back",
    "90-face-mask.png": "all face masks in source coordinates",
    "91-composite.png": "the result after pasting every face back",
    "contact-sheet.png": "the whole run in one picture",
    "run.json": "faces (docs/design.md section 3.1 form, with processed and index), "
                "settings, prompts, seeds, upscaler per face, timings; on the command line "
                "with --server also the server and its restorer and upscaler used",
}

SHEET_TILE_HEIGHT = 256
SHEET_MAX_WIDTH = 1800
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_SELECTED = (40, 220, 60)
_SKIPPED = (150, 150, 150)
_CROP = (250, 200, 0)
_LANDMARK = (255, 40, 40)


class DebugFolder:
    """Writes the debugging folder of one run through ``writer`` (PNG files by default)."""

    def __init__(self, root: Path, writer: ImageWriter = save_png,
                 clock: Callable[[], datetime] = datetime.now) -> None:
        self.root = Path(root)
        self.writer = writer
        self.clock = clock

    def write(self, stem: str, result: PipelineResult, settings: FacePopSettings,
              record: Mapping[str, Any] | None = None) -> Path:
        """The folder of one run; ``record`` adds the host's own entries to run.json (the
        command line: the server that processed the image and its tools)."""
        folder = self._new_folder(stem)
        pictures: dict[str, np.ndarray] = {
            "00-input.png": result.source,
            "01-detections.png": draw_detections(result),
        }
        for i, processed in enumerate(result.faces):
            prefix = f"face-{i:02d}"
            prepared = processed.prepared
            pictures[f"{prefix}-1-aligned.png"] = prepared.aligned.image
            for name, layer in prepared.mask.layers.items():
                pictures[f"{prefix}-2-{name}.png"] = mask_to_uint8(layer)
            pictures[f"{prefix}-3-mask.png"] = mask_to_uint8(prepared.mask.mask)
            if prepared.pass_input is not prepared.aligned.image:
                pictures[f"{prefix}-4-pass-input.png"] = prepared.pass_input
            pictures[f"{prefix}-5-processed.png"] = processed.pass_output
            for suffix, picture in _stage_pictures(processed):
                pictures[f"{prefix}-{suffix}.png"] = picture
        pictures["90-face-mask.png"] = mask_to_uint8(result.face_mask)
        pictures["91-composite.png"] = result.image
        pictures["contact-sheet.png"] = contact_sheet(result, pictures["01-detections.png"])
        for name, picture in pictures.items():
            self.writer(folder / name, picture)
        run = dict(run_record(result, settings), **(record or {}))
        (folder / "run.json").write_text(json.dumps(run, indent=2))
        log.info("FacePop debugging folder: %s", folder)
        return folder

    def _new_folder(self, stem: str) -> Path:
        stamp = self.clock().strftime("%Y%m%d-%H%M%S-%f")[:-3]
        safe_stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem) or "image"
        return new_folder(self.root, f"{stamp}-{safe_stem}")


def new_folder(root: Path, name: str) -> Path:
    """The folder ``name`` in ``root``, or ``name-2``, ``name-3``, ... where that exists,
    made now (so no other image takes it)."""
    folder, suffix = root / name, 1
    while folder.exists():
        suffix += 1
        folder = root / f"{name}-{suffix}"
    folder.mkdir(parents=True)
    return folder


def face_records(detected: Sequence[Face], selected: Sequence[Face]) -> list[dict]:
    """Every face found, in the ``detect --json`` form (docs/design.md section 3.1), marked
    with ``processed`` and ``index``: the faces processed first, in processing order, with
    the index of their ``face-NN`` files and face pass; then the others (index null)."""
    index = {id(face): i for i, face in enumerate(selected)}
    others = [face for face in detected if id(face) not in index]
    return [dict(face.to_json(), processed=id(face) in index, index=index.get(id(face)))
            for face in [*selected, *others]]


def _stage_pictures(processed: ProcessedFace) -> list[tuple[str, np.ndarray]]:
    """(file suffix, picture) of each stage after the face pass that ran for this face."""
    pictures = []
    if processed.restored is not None:
        pictures.append(("6-restored", processed.restored))
    if processed.eyes is not None:
        pictures.append(("7-eyes-crop", processed.eyes.crop_image))
        pictures.append(("7-eyes-mask", mask_to_uint8(processed.eyes.region.mask)))
        if processed.eyes.processed is not None:
            pictures.append(("8-eyes-processed", processed.eyes.processed))
    if processed.colour_matched is not None:
        pictures.append(("9-colour-matched", processed.colour_matched))
    return pictures


def run_record(result: PipelineResult, settings: FacePopSettings) -> dict:
    return {
        "width": int(result.source.shape[1]),
        "height": int(result.source.shape[0]),
        "faces": face_records(result.detected, result.selected),
        "face_pass": [_face_record(p) for p in result.faces],
        "settings": settings.to_dict(),
        "timings_ms": {k: round(v * 1000.0, 1) for k, v in result.timings.items()},
    }


def _face_record(processed: ProcessedFace) -> dict:
    task = processed.task
    record = {"index": task.index, "prompt": task.prompt,
              "negative_prompt": task.negative_prompt, "seed": task.seed,
              "mask_source": processed.prepared.mask.source,
              "upscaler": processed.prepared.aligned.upscaler,
              "restored": processed.restored is not None,
              "colour_matched": processed.colour_matched is not None}
    eyes = processed.eyes
    if eyes is not None:
        record["eyes"] = {"kept_original": eyes.kept_original,
                          "crop_corners_in_face": np.round(eyes.region.crop.corners(),
                                                           1).tolist()}
        if eyes.task is not None:
            record["eyes"].update(prompt=eyes.task.prompt,
                                  negative_prompt=eyes.task.negative_prompt,
                                  seed=eyes.task.seed)
    return record


# --- drawing ------------------------------------------------------------------------------

def draw_detections(result: PipelineResult) -> np.ndarray:
    """The source image with every detected face drawn on it."""
    canvas = result.source.copy()
    scale = max(canvas.shape[:2]) / 640.0
    thickness = max(1, int(round(2 * scale)))
    order = {id(face): i for i, face in enumerate(result.selected)}
    crops = {id(p.prepared.face): p.prepared.aligned.crop.corners() for p in result.faces}
    for face in result.detected:
        index = order.get(id(face))
        colour = _SELECTED if index is not None else _SKIPPED
        _polyline(canvas, face.region.corners(), colour, thickness)
        if id(face) in crops:
            _polyline(canvas, crops[id(face)], _CROP, max(1, thickness // 2))
        for x, y in face.landmarks.values():
            cv2.circle(canvas, (int(x), int(y)), max(2, thickness + 1), _LANDMARK, -1,
                       cv2.LINE_AA)
        label = f"#{index}" if index is not None else "skip"
        text = f"{label} roll {face.roll:+.1f} score {face.score:.2f}"
        x0, y0 = face.box[0], face.box[1]
        _label(canvas, text, (int(x0), max(int(y0) - 6, 12)), colour, 0.5 * max(scale, 0.6))
    return canvas


def _polyline(canvas: np.ndarray, corners: np.ndarray, colour: tuple[int, int, int],
              thickness: int) -> None:
    pts = np.round(corners).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(canvas, [pts], True, colour, thickness, cv2.LINE_AA)


def _label(canvas: np.ndarray, text: str, origin: tuple[int, int],
           colour: tuple[int, int, int], size: float) -> None:
    cv2.putText(canvas, text, origin, _FONT, size, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(canvas, text, origin, _FONT, size, colour, 1, cv2.LINE_AA)


def _mask_overlay(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    tint = np.zeros_like(image)
    tint[..., 0] = 255
    alpha = 0.55 * np.clip(mask, 0.0, 1.0)[..., None]
    return np.clip(image * (1.0 - alpha) + tint * alpha, 0, 255).astype(np.uint8)


def _tile(picture: np.ndarray, caption: str, height: int = SHEET_TILE_HEIGHT) -> np.ndarray:
    rgb = picture if picture.ndim == 3 else np.repeat(picture[:, :, None], 3, axis=2)
    width = max(1, int(round(rgb.shape[1] * height / rgb.shape[0])))
    resized = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    bar = np.full((24, width, 3), 32, dtype=np.uint8)
    _label(bar, caption, (4, 17), (255, 255, 255), 0.45)
    return np.vstack([bar, resized])


def _row(tiles: Sequence[np.ndarray], gap: int = 6) -> np.ndarray:
    height = max(t.shape[0] for t in tiles)
    parts = []
    for tile in tiles:
        padded = np.full((height, tile.shape[1], 3), 18, dtype=np.uint8)
        padded[:tile.shape[0]] = tile
        parts += [padded, np.full((height, gap, 3), 18, dtype=np.uint8)]
    return np.hstack(parts[:-1])


_STAGE_CAPTIONS = {
    "6-restored": "restored",
    "7-eyes-crop": "eyes crop",
    "7-eyes-mask": "eye mask",
    "8-eyes-processed": "eyes processed",
    "9-colour-matched": "colour matched (pasted)",
}


def contact_sheet(result: PipelineResult, detections: np.ndarray) -> np.ndarray:
    """Input with detections, masks over the input, and the composite; then one row per
    face: aligned, the mask's layers, the mask, the pass input if changed, the face pass's
    output, and the stages after it that ran (restored, eyes, colour matched)."""
    rows = [_row([
        _tile(detections, f"detections: {len(result.detected)} found, "
                          f"{len(result.faces)} processed"),
        _tile(_mask_overlay(result.source, result.face_mask), "face masks"),
        _tile(result.image, "composite"),
    ])]
    for i, processed in enumerate(result.faces):
        prepared = processed.prepared
        tiles = [_tile(prepared.aligned.image, f"face {i}: aligned, roll "
                                               f"{prepared.face.roll:+.1f}")]
        tiles += [_tile(mask_to_uint8(layer), name)
                  for name, layer in prepared.mask.layers.items()]
        tiles.append(_tile(mask_to_uint8(prepared.mask.mask),
                           f"mask ({prepared.mask.source})"))
        if prepared.pass_input is not prepared.aligned.image:
            tiles.append(_tile(prepared.pass_input, "pass input"))
        tiles.append(_tile(processed.pass_output, f"processed, seed {processed.task.seed}"))
        tiles += [_tile(picture, _STAGE_CAPTIONS[suffix])
                  for suffix, picture in _stage_pictures(processed)]
        rows.append(_row(tiles))
    width = max(r.shape[1] for r in rows)
    sheet = np.vstack([np.pad(r, ((0, 8), (0, width - r.shape[1]), (0, 0)),
                              constant_values=18) for r in rows])
    if sheet.shape[1] > SHEET_MAX_WIDTH:
        factor = SHEET_MAX_WIDTH / sheet.shape[1]
        sheet = cv2.resize(sheet, (SHEET_MAX_WIDTH, max(1, int(math.floor(sheet.shape[0] *
                                                                          factor)))),
                           interpolation=cv2.INTER_AREA)
    return sheet

