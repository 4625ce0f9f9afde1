"""The command line as other tools use it: real processes, real files (docs/design.md
section 3.1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.fake_webui_server import running_fake_webui
from tests.helpers import psnr, rotate_unclipped

ROOT = Path(__file__).resolve().parents[1]


def facepop(*args: str, timeout: float = 180, **env: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, "-m", "lib_facepop", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, env=env)


@pytest.fixture(scope="module")
def photos(tmp_path_factory, astronaut, coffee) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("photos")
    paths = {"astronaut": folder / "astronaut.png", "turned": folder / "turned.jpg",
             "coffee": folder / "coffee.png"}
    Image.fromarray(astronaut).save(paths["astronaut"])
    Image.fromarray(rotate_unclipped(astronaut, 30)[0]).save(paths["turned"], quality=95)
    Image.fromarray(coffee).save(paths["coffee"])
    return paths


def test_detect_json_prints_one_line_per_image_in_order(photos) -> None:
    given = [str(photos["turned"]), str(photos["coffee"]), str(photos["astronaut"])]
    done = facepop("detect", *given, "--json")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 3
    records = [json.loads(line) for line in lines]
    assert [r["image"] for r in records] == given
    turned, coffee, upright = records
    assert coffee["faces"] == [] and (coffee["width"], coffee["height"]) == (600, 400)
    assert (upright["width"], upright["height"]) == (512, 512)
    face = turned["faces"][0]
    # The contract's fields (never removed or renamed), plus what a run would do with it.
    assert {"box", "score", "roll", "landmarks"} <= set(face)
    assert (face["processed"], face["index"]) == (True, 0)
    assert len(face["box"]) == 4 and all(isinstance(v, float) for v in face["box"])
    assert abs(face["roll"] - 26.5) < 5 and abs(upright["faces"][0]["roll"] + 3.5) < 3
    assert {"left_eye", "right_eye", "nose"} <= set(face["landmarks"])
    assert 0.5 <= face["score"] <= 1.0


def test_detect_unreadable_file_fails_with_one_line_on_stderr(tmp_path, photos) -> None:
    broken = tmp_path / "broken.png"
    broken.write_text("not an image")
    done = facepop("detect", str(photos["astronaut"]), str(broken), "--json")
    assert done.returncode != 0
    assert len(done.stdout.strip().splitlines()) == 1  # the good image still printed
    assert done.stderr.strip().count("\n") == 0
    assert "broken.png" in done.stderr


def test_detect_bad_setting_names_it(photos) -> None:
    done = facepop("detect", str(photos["astronaut"]), "--confidence", "3")
    assert done.returncode == 2
    assert "confidence" in done.stderr and "maximum" in done.stderr


def test_run_writes_one_png_per_input_that_reproduces_it(tmp_path, photos) -> None:
    out = tmp_path / "out"
    done = facepop("run", str(photos["astronaut"]), str(photos["coffee"]), "--out", str(out),
                   "--debug")
    assert done.returncode == 0, done.stderr
    for stem in ("astronaut", "coffee"):
        written = np.asarray(Image.open(out / f"{stem}.png"))
        source = np.asarray(Image.open(photos[stem]))
        assert written.shape == source.shape
        assert psnr(written, source) > 45
    assert np.array_equal(np.asarray(Image.open(out / "coffee.png")),
                          np.asarray(Image.open(photos["coffee"])))
    debug_folders = list((out / "debug").iterdir())
    assert len(debug_folders) == 2
    assert all((folder / "contact-sheet.png").exists() for folder in debug_folders)


def test_run_with_a_server_sends_the_faces_there(tmp_path, photos) -> None:
    out = tmp_path / "out"
    with running_fake_webui() as server:
        done = facepop("run", str(photos["astronaut"]), "--out", str(out), "--server",
                       server.url, "--prompt", "a photo", "--seed", "42", "--face-steps", "9")
    assert done.returncode == 0, done.stderr
    assert len(server.requests) == 1
    body = server.requests[0]
    assert (body["prompt"], body["seed"], body["steps"]) == ("a photo", 42, 9)
    written = np.asarray(Image.open(out / "astronaut.png"))
    source = np.asarray(Image.open(photos["astronaut"]))
    centre = (125, 224)
    assert abs(int(written[centre][0]) - (255 - int(source[centre][0]))) <= 3  # inverted


def test_run_keeps_two_inputs_with_the_same_name_apart(tmp_path, photos) -> None:
    other = tmp_path / "astronaut.png"
    other.write_bytes(photos["astronaut"].read_bytes())
    done = facepop("run", str(photos["astronaut"]), str(other), "--out", str(tmp_path / "o"))
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "o").rglob("astronaut.png"))) == 2


def test_demo_runs_on_a_fresh_folder(tmp_path) -> None:
    no_models = tmp_path / "models"
    no_models.mkdir()
    done = facepop("demo", "--out", str(tmp_path / "demo"), FACEPOP_MODELS_DIR=str(no_models))
    assert done.returncode == 0, done.stderr
    # Without a MODNet model the default masks quietly come from selfie segmentation.
    assert done.stderr.splitlines() == [line for line in done.stderr.splitlines()
                                        if line.startswith("facepop: finished 1 of 1")]
    assert (tmp_path / "demo" / "demo.png").exists()
    (folder,) = (tmp_path / "demo" / "debug").iterdir()
    assert (folder / "contact-sheet.png").exists()
    assert "contact-sheet.png" in done.stdout


def test_schema_and_version() -> None:
    schema = json.loads(facepop("schema").stdout)
    assert schema["properties"]["face_width"]["default"] == 720
    assert facepop("--version").stdout.startswith("FacePop ")


@pytest.mark.parametrize(("flags", "expected"), [
    (["--mask", "ellipse"], "ellipse"),
    (["--mask", "selfie"], "selfie"),
    (["--modnet", "{onnx}"], "modnet"),
    (["--models-dir", "{empty}"], "selfie"),  # auto, no MODNet file there: selfie, quietly
    (["--mask", "modnet", "--models-dir", "{empty}"], "selfie"),  # asked for: a warning
])
def test_run_takes_the_mask_source_asked_for(tmp_path, photos, random_onnx, flags,
                                            expected) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    given = [f.format(onnx=random_onnx, empty=empty) for f in flags]
    out = tmp_path / "out"
    done = facepop("run", str(photos["astronaut"]), "--out", str(out), "--debug", *given)
    assert done.returncode == 0, done.stderr
    (folder,) = (out / "debug").iterdir()
    record = json.loads((folder / "run.json").read_text())
    assert record["face_pass"][0]["mask_source"] == expected
    if "--models-dir" in flags:
        warned = "no MODNet model file" in done.stderr
        assert warned == ("modnet" in flags)
