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


def test_every_stage_after_the_face_pass_has_its_picture(tmp_path, astronaut) -> None:
    from lib_facepop.tools import FaceTools
    from tests.test_restore import RecordingRestorer

    settings = FacePopSettings(enabled=True, debug=True, face_restoration="codeformer",
                               eyes_pass=True, keep_original_eyes=True,
                               enhance_filter="median")
    pipeline = FacePipeline(SinglePassDetector(), EllipseMaskSource(), StylizeProcessor(),
                            tools=FaceTools(restorers={"codeformer": RecordingRestorer()}))
    result = pipeline.run(astronaut, settings)
    folder = DebugFolder(tmp_path, clock=_fixed_clock).write("stages", result, settings)
    names = {p.name for p in folder.iterdir()}
    stages = {"face-00-4-pass-input.png", "face-00-6-restored.png", "face-00-7-eyes-crop.png",
              "face-00-7-eyes-mask.png", "face-00-8-eyes-processed.png",
              "face-00-9-colour-matched.png"}
    assert stages <= names
    documented = {name.replace("NN", "00") for name in DEBUG_FILES}
    assert all(n in documented or n.startswith("face-00-2-") for n in names)
    (face,) = result.faces
    for name, picture in (("6-restored", face.restored), ("7-eyes-crop", face.eyes.crop_image),
                          ("8-eyes-processed", face.eyes.processed),
                          ("9-colour-matched", face.colour_matched),
                          ("5-processed", face.pass_output)):
        assert np.array_equal(np.asarray(Image.open(folder / f"face-00-{name}.png")), picture)
    eye_mask = np.asarray(Image.open(folder / "face-00-7-eyes-mask.png"))
    assert eye_mask.shape == (256, 512) and eye_mask.max() == 255 and eye_mask[0].max() == 0

    record = json.loads((folder / "run.json").read_text())["face_pass"][0]
    assert record["restored"] and record["colour_matched"] and record["upscaler"] == "Lanczos"
    assert record["eyes"]["kept_original"] is True
    assert "clear iris" in record["eyes"]["prompt"]
    # The contact sheet's face row grew by the six stage pictures.
    plain = FacePopSettings(enabled=True, colour_match=False)
    plain_folder = DebugFolder(tmp_path / "plain", clock=_fixed_clock).write(
        "plain", pipeline.run(astronaut, plain), plain)
    wide, narrow = (Image.open(f / "contact-sheet.png") for f in (folder, plain_folder))
    assert wide.width > narrow.width
