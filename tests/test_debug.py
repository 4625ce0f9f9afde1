"""The debugging folder: the documented files, and a contact sheet that tells the story."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
from PIL import Image

from lib_facepop.debug import DEBUG_FILES, DebugFolder
from lib_facepop.detect import SinglePassDetector
from lib_facepop.masks import EllipseMaskSource
from lib_facepop.pipeline import FacePipeline
from lib_facepop.processors.stylize import StylizeProcessor
from lib_facepop.settings import FacePopSettings
from tests.helpers import rotate_unclipped


def _fixed_clock() -> datetime:
    return datetime(2026, 11, 21, 12, 30, 45, 123456)


def test_debug_folder_holds_every_documented_step(tmp_path, astronaut) -> None:
    turned = rotate_unclipped(astronaut, 30)[0]
    settings = FacePopSettings(enabled=True, debug=True)
    pipeline = FacePipeline(SinglePassDetector(), EllipseMaskSource(), StylizeProcessor())
    result = pipeline.run(turned, settings)
    folder = DebugFolder(tmp_path, clock=_fixed_clock).write("my photo", result, settings)

    assert folder.name == "20261121-123045-123-my_photo"
    names = {p.name for p in folder.iterdir()}
    expected = {"00-input.png", "01-detections.png", "face-00-1-aligned.png",
                "face-00-3-mask.png", "face-00-5-processed.png", "90-face-mask.png",
                "91-composite.png", "contact-sheet.png", "run.json"}
    assert expected <= names
    documented = {name.replace("NN", "00") for name in DEBUG_FILES}
    assert all(n in documented or n.startswith("face-00-2-") for n in names)

    assert np.array_equal(np.asarray(Image.open(folder / "00-input.png")), turned)
    assert np.array_equal(np.asarray(Image.open(folder / "91-composite.png")), result.image)
    detections = np.asarray(Image.open(folder / "01-detections.png"))
    assert not np.array_equal(detections, turned)  # boxes and landmarks were drawn
    sheet = Image.open(folder / "contact-sheet.png")
    # An overview row of three pictures, then one row for the face.
    assert sheet.width >= 3 * 256 and sheet.height >= 2 * 256

    record = json.loads((folder / "run.json").read_text())
    assert record["faces"][0]["processed"] is True
    assert abs(record["faces"][0]["roll"] - 26.5) < 5
    assert record["settings"]["debug"] is True
    assert set(record["timings_ms"]) == {"detect", "align_and_mask", "process",
                                         "colour_match", "blend"}


def test_two_runs_in_the_same_millisecond_get_their_own_folders(tmp_path, coffee) -> None:
    settings = FacePopSettings(enabled=True)
    pipeline = FacePipeline(SinglePassDetector(), EllipseMaskSource(), StylizeProcessor())
    result = pipeline.run(coffee, settings)
    debug = DebugFolder(tmp_path, clock=_fixed_clock)
    first, second = debug.write("x", result, settings), debug.write("x", result, settings)
    assert first != second and first.exists() and second.exists()
    assert (second / "contact-sheet.png").exists()


def test_debug_images_go_through_the_given_writer(tmp_path, coffee) -> None:
    written = []
    settings = FacePopSettings(enabled=True)
    pipeline = FacePipeline(SinglePassDetector(), EllipseMaskSource(), StylizeProcessor())
    result = pipeline.run(coffee, settings)
    DebugFolder(tmp_path, writer=lambda path, image: written.append(path.name)).write(
        "x", result, settings)
    assert "contact-sheet.png" in written and "00-input.png" in written
