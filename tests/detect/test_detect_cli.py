"""``python -m lib_facepop detect IMAGE... --json`` (docs/design.md section 3.1) on a small
turned face."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from detect_scenes import moved, paste_scaled, turned_roll
from PIL import Image

from lib_facepop.faces import angle_difference

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lib_facepop", "detect", *args],
                          cwd=REPO, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def upside_down_small_face(tmp_path_factory, astronaut, upright_face):
    """A PNG: the astronaut's face at ~64 px, turned 160 degrees, in a 1280x720 frame."""
    from skimage import data

    frame = cv2.GaussianBlur(cv2.resize(data.rocket(), (1280, 720)), (0, 0), 2)
    photo_scale = 320 / astronaut.shape[1]
    face_in_photo = (upright_face.center[0] / photo_scale, upright_face.center[1] / photo_scale)
    scale = 64.0 / (upright_face.size / photo_scale)
    to_frame = paste_scaled(frame, astronaut, face_in_photo, (400.0, 420.0), scale, 160.0)
    path = tmp_path_factory.mktemp("cli") / "turned face.png"
    Image.fromarray(frame).save(path)
    truth = {"center": moved(to_frame, face_in_photo),
             "roll": turned_roll(upright_face.roll, 160.0)}
    return path, truth


def test_detect_json_prints_one_line_per_image_with_the_face(upside_down_small_face):
    path, truth = upside_down_small_face
    result = run_cli(str(path), "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["image"] == str(path)
    assert (record["width"], record["height"]) == (1280, 720)
    assert len(record["faces"]) == 1, record["faces"]
    face = record["faces"][0]
    x0, y0, x1, y1 = face["box"]
    assert x0 < truth["center"][0] < x1 and y0 < truth["center"][1] < y1
    assert 40 < x1 - x0 < 110 and 40 < y1 - y0 < 110
    assert angle_difference(face["roll"], truth["roll"]) <= 5.0
    assert 0.0 < face["score"] <= 1.0
    for name in ("left_eye", "right_eye", "nose"):
        assert len(face["landmarks"][name]) == 2
    left, right = np.array(face["landmarks"]["left_eye"]), np.array(face["landmarks"]["right_eye"])
    # Turned 160 degrees, the eye on the viewer's left of the upright face is now right.
    assert left[0] > right[0]
    assert math.dist(left, right) > 10


def test_detect_reports_an_unreadable_file_in_one_line_and_fails(upside_down_small_face,
                                                                  tmp_path):
    good, _ = upside_down_small_face
    bad = tmp_path / "not-an-image.png"
    bad.write_text("this is text, not a picture")
    result = run_cli(str(bad), str(good), "--json")
    assert result.returncode != 0
    # The readable image is still reported, in order, as JSON Lines.
    lines = result.stdout.splitlines()
    assert [json.loads(line)["image"] for line in lines] == [str(good)]
    messages = result.stderr.splitlines()
    assert len(messages) == 1, repr(result.stderr)  # one line, no native log noise
    assert messages[0].startswith("facepop:") and str(bad) in messages[0]
