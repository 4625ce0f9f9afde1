"""``facepop run`` over folders, on one or several WebUI servers that misbehave: nothing is
lost, every failure is said in one line, the exit status tells (docs/cli.md).

Most runs are in-process (``cli.main``), so the models load once; the ones that need a real
process (an interrupt, a clean stderr) run ``python -m lib_facepop``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from lib_facepop import cli
from tests.fake_webui_server import running_fake_webui
from tests.helpers import psnr
from tests.test_batch_parts import read_only_folder
from tests.test_image_files import save_with_orientation

ROOT = Path(__file__).resolve().parents[1]
FACE = (125, 224)  # (row, column) in the astronaut's face
# Quick retries, and the single-pass detector where the astronaut's upright face is all
# there is to find (the aggressive search has its own tests).
FAST = ("--retry-delay", "0.05", "--retries", "1", "--no-aggressive-detection")


class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err
        self.lines = err.strip().splitlines()


@pytest.fixture
def facepop(capsys):
    """Run the command line in this process; (exit status, stdout, stderr)."""
    def run(*args: object) -> Run:
        capsys.readouterr()
        try:
            code = cli.main([str(arg) for arg in args])
        except SystemExit as exc:  # argparse refusing a flag
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)
    return run


def facepop_process(*args: object, env: dict | None = None, **options
                    ) -> subprocess.Popen | subprocess.CompletedProcess:
    environment = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    command = [sys.executable, "-m", "lib_facepop", *map(str, args)]
    if options.pop("background", False):
        return subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env=environment, **options)


@pytest.fixture(scope="module")
def renders(tmp_path_factory, astronaut, coffee) -> Path:
    """Five photos with a face (the astronaut as is, mirrored, cropped) and one without."""
    folder = tmp_path_factory.mktemp("renders")
    variants = {"r1": astronaut, "r2": astronaut[:, ::-1], "r3": astronaut[:480],
                "r4": astronaut[:, ::-1][:500], "r5": astronaut[:, :500]}
    for name, pixels in variants.items():
        Image.fromarray(np.ascontiguousarray(pixels)).save(folder / f"{name}.png")
    Image.fromarray(coffee).save(folder / "r6.jpg", quality=95)
    return folder


@pytest.fixture(scope="module")
def group_photo(tmp_path_factory, astronaut) -> Path:
    """Six faces of about 50 px: the astronaut in a 3 x 2 grid."""
    tile = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    rows = [np.hstack([tile, tile[:, ::-1], tile]), np.hstack([tile[:, ::-1], tile,
                                                               tile[:, ::-1]])]
    path = tmp_path_factory.mktemp("group") / "group.png"
    Image.fromarray(np.ascontiguousarray(np.vstack(rows))).save(path)
    return path


def face_inverted(written: Path, source: np.ndarray, mirrored: bool = False) -> bool:
    """Whether the face's centre in ``written`` is ``source``'s inverted (the fake WebUI's
    face pass); ``mirrored``: the image is ``source`` mirrored left to right."""
    row, column = FACE
    expected = 255 - source[row, column].astype(int)
    if mirrored:
        column = source.shape[1] - 1 - column
    pixel = np.asarray(Image.open(written).convert("RGB"))[row, column].astype(int)
    return bool(np.all(np.abs(pixel - expected) <= 3))


# --- several servers, misbehaving -------------------------------------------------------------

def test_a_folder_through_two_servers_with_one_killed_midway(facepop, renders, tmp_path,
                                                              astronaut) -> None:
    out = tmp_path / "out"
    # The steady server is slow, so the other is free to take the next image after it
    # died on one, fails it too, and is dropped.
    with running_fake_webui(die_after=1) as dying, running_fake_webui(delay=2.0) as steady:
        run = facepop("run", renders, "--out", out, "--server", dying.url, "--server",
                      steady.url, *FAST, "--progress-interval", "0")
    assert run.code == 0, run.err
    assert sorted(p.name for p in out.glob("*.png")) == [f"r{i}.png" for i in range(1, 7)]
    for name, mirrored in (("r1", False), ("r2", True), ("r3", False), ("r5", False)):
        assert face_inverted(out / f"{name}.png", astronaut, mirrored), name
    assert len(dying.requests) == 2  # it did one image, then died on the next
    drops = [line for line in run.lines if "dropping server" in line]
    assert len(drops) == 1 and dying.url in drops[0]
    assert "finished 6 of 6 images" in run.err and "6 done (5 faces processed)" in run.err
    assert sum("/6 images: " in line for line in run.lines) == 5  # progress, not a terminal


def test_http_500_once_is_retried_and_the_image_done(facepop, renders, tmp_path,
                                                     astronaut) -> None:
    out = tmp_path / "out"
    with running_fake_webui(fail_first=1) as server:
        run = facepop("run", renders / "r1.png", "--out", out, "--server", server.url, *FAST)
    assert run.code == 0, run.err
    assert len(server.requests) == 2
    assert face_inverted(out / "r1.png", astronaut)
    assert run.lines == ["facepop: finished 1 of 1 images in " + run.lines[0].split(" in ")[1]]


def test_a_server_that_always_fails_is_dropped_and_its_images_fail(facepop, renders,
                                                                   tmp_path) -> None:
    out = tmp_path / "out"
    with running_fake_webui(fail_first=10_000) as server:
        run = facepop("run", renders / "r1.png", renders / "r6.jpg", renders / "r2.png",
                      renders / "r3.png", "--out", out, "--server", server.url, *FAST)
    assert run.code == 1
    assert sorted(p.name for p in out.glob("*.png")) == ["r6.png"]  # no face: no server
    failures = [line for line in run.lines if ": failed: " in line and "  " not in line]
    assert [line.split(": failed: ")[0] for line in failures] == [
        f"facepop: {renders / name}" for name in ("r1.png", "r2.png", "r3.png")]
    assert "HTTP 500 CUDA out of memory" in failures[0]
    assert "no WebUI server left (last:" in failures[2]
    assert sum("dropping server" in line for line in run.lines) == 1
    assert "3 failed" in run.err and "  failed: " in run.err  # the summary lists them


def test_an_answer_that_is_not_json_goes_to_the_other_server(facepop, renders,
                                                             tmp_path) -> None:
    out = tmp_path / "out"
    with running_fake_webui(not_json=True) as broken, running_fake_webui() as good:
        run = facepop("run", renders / "r1.png", renders / "r2.png", "--out", out,
                      "--server", broken.url, "--server", good.url, *FAST)
    assert run.code == 0, run.err
    assert len(list(out.glob("*.png"))) == 2
    assert any("not JSON" in line and "another server will do it" in line
               for line in run.lines)


def test_images_of_the_wrong_size_fail_the_image_not_the_batch(facepop, renders,
                                                               tmp_path) -> None:
    out = tmp_path / "out"
    with running_fake_webui(image_size=(64, 32)) as server:
        run = facepop("run", renders / "r1.png", renders / "r6.jpg", "--out", out,
                      "--server", server.url, *FAST)
    assert run.code == 1
    assert not (out / "r1.png").exists() and (out / "r6.png").exists()
    assert "returned a 64x32 image for 720x720" in run.err


def test_a_server_wanting_credentials_stops_the_run_before_any_work(facepop, renders,
                                                                    tmp_path) -> None:
    out = tmp_path / "out"
    with running_fake_webui(credentials=("ann", "pw")) as server:
        refused = facepop("run", renders / "r1.png", "--out", out, "--server", server.url,
                          *FAST)
        assert server.requests == [] and not (out / "r1.png").exists()
        done = facepop("run", renders / "r1.png", "--out", out, "--server", server.url,
                       "--api-auth", "ann:pw", *FAST)
    assert refused.code == 2 and len(refused.lines) == 1
    assert "HTTP 401 Not authenticated" in refused.err and "--api-auth" in refused.err
    assert done.code == 0 and (out / "r1.png").exists()


def test_a_refused_request_shows_the_servers_message_and_the_batch_goes_on(
        facepop, renders, tmp_path) -> None:
    out = tmp_path / "out"
    with running_fake_webui() as server:
        run = facepop("run", renders / "r1.png", renders / "r2.png", renders / "r6.jpg",
                      "--out", out, "--server", server.url, "--api-fields",
                      '{"restore_faces": "maybe"}', *FAST)
    assert run.code == 1
    assert len(server.requests) == 2  # one per image with a face: a 4xx is not retried
    assert run.err.count("HTTP 422 restore_faces: value could not be parsed to a boolean") >= 2
    assert (out / "r6.png").exists() and not (out / "r1.png").exists()
    assert not any("dropping" in line for line in run.lines)


def test_a_server_that_times_out_is_dropped_and_the_other_does_all(facepop, renders,
                                                                   tmp_path) -> None:
    out = tmp_path / "out"
    with running_fake_webui(delay=8.0) as slow, running_fake_webui() as good:
        run = facepop("run", renders / "r1.png", renders / "r2.png", renders / "r3.png",
                      "--out", out, "--server", slow.url, "--server", good.url,
                      "--timeout", "3", "--retries", "0", "--no-aggressive-detection")
    assert run.code == 0, run.err
    assert len(list(out.glob("*.png"))) == 3
    assert "no answer within 3 s" in run.err


def test_one_server_down_at_the_start_is_left_out(facepop, renders, tmp_path) -> None:
    with running_fake_webui() as good:
        with running_fake_webui() as gone:
            gone_url = gone.url
        run = facepop("run", renders / "r1.png", "--out", tmp_path / "out", "--server",
                      gone_url, "--server", good.url, *FAST)
    assert run.code == 0, run.err
    assert run.lines[0].startswith(f"facepop: leaving out {gone_url}: can't connect")


def test_no_server_answering_stops_before_any_work(facepop, renders, tmp_path) -> None:
    with running_fake_webui() as gone:
        url = gone.url
    run = facepop("run", renders / "r1.png", "--out", tmp_path / "out", "--server", url,
                  *FAST)
    assert run.code == 1 and len(run.lines) == 1
    assert "no WebUI server answers" in run.err


# --- faces per request, main pass -------------------------------------------------------------

def test_faces_per_request_are_capped(facepop, group_photo, tmp_path) -> None:
    with running_fake_webui() as server:
        run = facepop("run", group_photo, "--out", tmp_path / "out", "--server", server.url,
                      "--face-batch", "2", "--seed", "10")
    assert run.code == 0, run.err
    assert [body["batch_size"] for body in server.requests] == [2, 2, 1]
    assert [body["seed"] for body in server.requests] == [10, 12, 14]


def test_main_pass_on_the_server_after_the_face_pass(facepop, renders, tmp_path,
                                                     astronaut, coffee) -> None:
    out = tmp_path / "out"
    with running_fake_webui() as server:
        run = facepop("run", renders / "r1.png", renders / "r6.jpg", "--out", out,
                      "--server", server.url, "--main-pass", "--prompt", "photo",
                      "--steps", "12", "--denoising-strength", "0.3", "--face-steps", "30",
                      "--seed", "5", "--debug", *FAST)
    assert run.code == 0, run.err
    face_pass, main, main_no_face = server.requests
    assert (face_pass["steps"], face_pass["batch_size"], "mask" in face_pass) == (30, 1, False)
    assert (main["steps"], main["denoising_strength"], main["prompt"], main["seed"]) == (
        12, 0.3, "photo", 5)
    assert (main["inpainting_fill"], main["inpaint_full_res"],
            main["inpainting_mask_invert"]) == (1, False, 0)
    assert "mask" not in main_no_face
    # The face was processed once (by the face pass), everything else once (main pass).
    result = np.asarray(Image.open(out / "r1.png"))
    assert face_inverted(out / "r1.png", astronaut)
    assert np.array_equal(result[400:, :100], 255 - astronaut[400:, :100])
    (debug,) = [p for p in (out / "debug").iterdir() if p.name.endswith("r1")]
    composite = np.asarray(Image.open(debug / "91-composite.png"))
    face_mask = np.asarray(Image.open(debug / "90-face-mask.png"))
    core = cv2.erode((face_mask == 255).astype(np.uint8), np.ones((25, 25))) > 0
    assert core.sum() > 1000 and np.array_equal(result[core], composite[core])
    decoded = np.asarray(Image.open(renders / "r6.jpg"))
    assert psnr(np.asarray(Image.open(out / "r6.png")), 255 - decoded) > 40
    assert "main-pass" not in run.err


# --- resume -----------------------------------------------------------------------------------

def test_an_interrupted_run_leaves_whole_files_and_resumes(facepop, renders,
                                                            tmp_path) -> None:
    out = tmp_path / "out"
    images = [renders / f"r{i}.png" for i in range(1, 6)]
    with running_fake_webui(delay=1.0) as server:
        process = facepop_process("run", *images, "--out", out, "--server", server.url,
                                  *FAST, background=True)
        deadline = time.monotonic() + 120
        while len(list(out.glob("*.png"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted after" in err
    first = sorted(p.name for p in out.glob("*.png"))
    assert 2 <= len(first) < 5
    for written in first:  # whole files only under final names
        with Image.open(out / written) as img:
            img.load()
    with running_fake_webui() as server:
        again = facepop("run", *images, "--out", out, "--server", server.url, *FAST)
    assert again.code == 0, again.err
    assert f"{len(first)} skipped" in again.err
    assert len(server.requests) == 5 - len(first)
    assert sorted(p.name for p in out.glob("*.png")) == [f"r{i}.png" for i in range(1, 6)]


@pytest.mark.parametrize("blocked", ["faces", "debug"])
def test_an_image_whose_face_or_debug_files_fail_is_redone_by_the_next_run(
        facepop, renders, tmp_path, blocked) -> None:
    """The result is written last: an image is done only when all its files are."""
    out = tmp_path / "out"
    out.mkdir()
    (out / blocked).write_text("a file where FacePop makes a folder")
    flags = ("--save-faces", "--debug", "--no-aggressive-detection", "--mask", "ellipse")
    first = facepop("run", renders / "r1.png", "--out", out, *flags)
    assert first.code == 1 and not (out / "r1.png").exists()
    assert f"facepop: {renders / 'r1.png'}: failed: " in first.err
    (out / blocked).unlink()
    again = facepop("run", renders / "r1.png", "--out", out, *flags)
    assert again.code == 0 and "1 done (1 faces processed), 0 skipped" in again.err
    assert (out / "r1.png").exists() and (out / "faces" / "r1-00.png").exists()
    assert len(list((out / "debug").iterdir())) == 1


def test_results_that_exist_are_skipped_unless_overwriting(facepop, renders,
                                                           tmp_path) -> None:
    out = tmp_path / "out"
    first = facepop("run", renders / "r6.jpg", "--out", out)
    (out / "r6.png").write_bytes(b"kept")  # to see whether it is written again
    again = facepop("run", renders / "r6.jpg", "--out", out)
    assert (first.code, again.code) == (0, 0)
    assert "0 done (0 faces processed), 1 skipped" in again.err
    assert (out / "r6.png").read_bytes() == b"kept"
    overwrite = facepop("run", renders / "r6.jpg", "--out", out, "--overwrite")
    assert "1 done" in overwrite.err and (out / "r6.png").read_bytes()[:4] == b"\x89PNG"


# --- inputs as a viewer sees them -------------------------------------------------------------

@pytest.fixture(scope="module")
def phone_photos(tmp_path_factory, astronaut) -> dict[int, Path]:
    """The astronaut (non-square) as a phone stores it for EXIF orientations 1 to 8."""
    folder = tmp_path_factory.mktemp("phone")
    view = np.ascontiguousarray(astronaut[:, 40:440])
    paths = {}
    for orientation in range(1, 9):
        paths[orientation] = folder / f"o{orientation}.jpg"
        save_with_orientation(view, orientation, paths[orientation], quality=95)
    return paths


def test_detect_sees_exif_orientations_as_a_viewer(facepop, phone_photos) -> None:
    done = facepop("detect", *phone_photos.values(), "--json")
    assert done.code == 0, done.err
    records = [json.loads(line) for line in done.out.splitlines()]
    upright = records[0]["faces"][0]
    for record in records:
        assert (record["width"], record["height"]) == (400, 512), record["image"]
        (face,) = record["faces"]
        assert abs(face["roll"] - upright["roll"]) < 4, record["image"]
        assert np.allclose(face["box"], upright["box"], atol=12), record["image"]


def test_run_writes_exif_oriented_photos_upright(facepop, phone_photos, tmp_path) -> None:
    out = tmp_path / "out"
    run = facepop("run", phone_photos[6], phone_photos[3], "--out", out, "--debug")
    assert run.code == 0, run.err
    for orientation in (6, 3):
        with Image.open(phone_photos[orientation]) as img:
            shown = np.asarray(ImageOps.exif_transpose(img))
        with Image.open(out / f"o{orientation}.png") as written:
            exif = written.getexif()
            result = np.asarray(written)
        assert result.shape == shown.shape == (512, 400, 3)
        assert 0x0112 not in exif and exif[0x010F] == "FacePop test camera"
        assert psnr(result, shown) > 40
    (debug,) = [p for p in (out / "debug").iterdir() if p.name.endswith("o6")]
    record = json.loads((debug / "run.json").read_text())
    assert (record["width"], record["height"]) == (400, 512)


def test_rgba_renders_keep_their_alpha_and_every_pixel_outside_the_faces(
        facepop, astronaut, tmp_path) -> None:
    alpha = np.zeros(astronaut.shape[:2], np.uint8)
    cv2.ellipse(alpha, (256, 300), (190, 280), 0, 0, 360, 255, -1)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 6)  # a soft edge, as renders have
    rgba = np.dstack([astronaut, alpha])
    rgba[alpha == 0, :3] = (0, 0, 0)  # what DAZ leaves under full transparency
    source = tmp_path / "render.png"
    Image.fromarray(rgba, "RGBA").save(source)
    out = tmp_path / "out"
    with running_fake_webui() as server:
        run = facepop("run", source, "--out", out, "--server", server.url, "--debug")
    assert run.code == 0, run.err
    with Image.open(out / "render.png") as written:
        assert written.mode == "RGBA"
        result = np.asarray(written)
    (debug,) = (out / "debug").iterdir()
    outside = np.asarray(Image.open(debug / "90-face-mask.png")) == 0
    assert np.array_equal(result[..., 3], alpha)
    assert np.array_equal(result[outside], rgba[outside])
    assert outside.mean() > 0.8 and not np.array_equal(result, rgba)
    row, column = FACE
    assert np.all(np.abs(result[row, column, :3].astype(int)
                         - (255 - astronaut[row, column].astype(int))) <= 3)


def test_huge_animated_and_16_bit_inputs(facepop, astronaut, tmp_path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.new("1", (13500, 13500)).save(inputs / "huge.png")
    frames = [Image.fromarray(astronaut), Image.fromarray(255 - astronaut)]
    frames[0].save(inputs / "loop.gif", save_all=True, append_images=frames[1:])
    cv2.imwrite(str(inputs / "deep.png"), astronaut[:, :, ::-1].astype(np.uint16) * 257)
    out = tmp_path / "out"
    run = facepop("run", inputs, "--out", out)
    assert run.code == 1
    assert (f"facepop: {inputs / 'huge.png'}: failed: 13500x13500 is 182.2 megapixels, "
            f"above the limit of 100 megapixels; raise it with --max-megapixels") in run.lines
    assert f"facepop: {inputs / 'loop.gif'}: has 2 frames; only the first is processed " \
           f"and written as a still PNG (said once; the summary counts them)" in run.lines
    assert any(line.startswith(f"facepop: {inputs / 'deep.png'}: is 16 bits per channel")
               for line in run.lines)
    assert "note: 1 image(s) is 16 bits per channel; processed and written as 8-bit" in run.err
    deep = np.asarray(Image.open(out / "deep.png"))
    assert deep.dtype == np.uint8 and psnr(deep, astronaut) > 40
    with Image.open(inputs / "loop.gif") as gif:
        first_frame = np.asarray(gif.convert("RGB"))
    assert psnr(np.asarray(Image.open(out / "loop.png")), first_frame) > 40
    assert not any("Traceback" in line for line in run.lines)


# --- before any work: output folder, flags --------------------------------------------------

@pytest.mark.parametrize("kind", ["file", "under a file", "read-only"])
def test_an_unusable_output_folder_is_refused_before_any_work(facepop, renders, tmp_path,
                                                              kind) -> None:
    (tmp_path / "f").write_text("x")
    out = {"file": tmp_path / "f", "under a file": tmp_path / "f" / "out",
           "read-only": None}[kind]
    if out is None:
        out = read_only_folder(tmp_path)
    with running_fake_webui() as server:
        run = facepop("run", renders / "r1.png", "--out", out, "--server", server.url)
    assert run.code == 2 and len(run.lines) == 1, run.err
    assert run.err.startswith(f"facepop: --out {out}")
    assert server.requests == []


@pytest.mark.parametrize(("flags", "message"), [
    (["--modnet", "/no/such/model.onnx"], "--modnet /no/such/model.onnx: no such file"),
    (["--modnet", "{tmp}"], "is a folder; give the model file"),
    (["--models-dir", "/no/such/dir"], "--models-dir /no/such/dir: no such folder"),
    (["--main-pass"], "--main-pass runs on a WebUI server"),
    (["--server", "localhost:7860"], "--server localhost:7860: must start with http://"),
    (["--server", "http://h:1", "--api-auth", "nopass"], "--api-auth: expected USER:PASS"),
    (["--api-fields", "[1]"], "--api-fields: expected a JSON object"),
    (["--steps", "0"], "0 is below the minimum 1"),
])
def test_bad_flags_are_refused_with_their_name(facepop, renders, tmp_path, flags,
                                               message) -> None:
    given = [flag.format(tmp=tmp_path) for flag in flags]
    run = facepop("run", renders / "r1.png", "--out", tmp_path / "out", *given)
    assert run.code == 2 and message in run.err, run.err
    assert not (tmp_path / "out" / "r1.png").exists()


def test_results_never_replace_their_inputs(facepop, renders, tmp_path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.png").write_bytes((renders / "r1.png").read_bytes())
    same_folder = facepop("run", folder, "--out", folder)
    own_file = facepop("run", folder / "a.png", "--out", folder, "--overwrite")
    assert (same_folder.code, own_file.code) == (2, 2)
    assert "is also an input folder" in same_folder.err
    assert "its result would replace it" in own_file.err
    assert (folder / "a.png").read_bytes() == (renders / "r1.png").read_bytes()


@pytest.mark.parametrize("flag", ["--output-folder", "--face-pass-scripts", "--enabled"])
def test_webui_only_settings_are_not_offered(facepop, renders, tmp_path, flag) -> None:
    run = facepop("run", renders / "r1.png", "--out", tmp_path / "o", flag, "x")
    assert run.code == 2 and f"unrecognized arguments: {flag}" in run.err


def test_webui_only_settings_in_a_settings_file_are_said_to_be_ignored(
        facepop, renders, tmp_path, caplog) -> None:
    settings = tmp_path / "s.json"
    settings.write_text(json.dumps({"output_folder": "x/{date}", "padding": 20}))
    run = facepop("run", renders / "r6.jpg", "--out", tmp_path / "o", "--settings", settings)
    assert run.code == 0
    assert "output_folder only means something inside the WebUI; ignored" in caplog.text


def test_the_default_run_says_nothing_about_modnet(renders, tmp_path) -> None:
    empty = tmp_path / "models"
    empty.mkdir()
    done = facepop_process("run", renders / "r1.png", "--out", tmp_path / "out",
                           env={"FACEPOP_MODELS_DIR": str(empty)})
    assert done.returncode == 0
    assert len(done.stderr.splitlines()) == 1 and "finished 1 of 1" in done.stderr
    assert done.stdout == ""


# --- inputs, detect, run.json -----------------------------------------------------------------

def test_globs_recursive_folders_and_progress_lines(facepop, tmp_path, astronaut) -> None:
    shots = tmp_path / "shots"
    for name in ("a/x.png", "b/x.png", "c.png"):
        (shots / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(astronaut[::4, ::4]).save(shots / name)
    out = tmp_path / "out"
    run = facepop("run", shots, "-r", "--out", out, "--progress-interval", "0",
                  "--no-aggressive-detection")
    assert run.code == 0, run.err
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == [
        "a/x.png", "b/x.png", "c.png"]
    assert [line.split(":")[1].split()[0] for line in run.lines if "/3 images" in line] == [
        "1/3", "2/3"]
    pattern = facepop("run", f"{shots}/*/x.png", "--out", tmp_path / "o2",
                      "--no-aggressive-detection")
    assert sorted(p.relative_to(tmp_path / "o2").as_posix()
                  for p in (tmp_path / "o2").rglob("*.png")) == ["a/x.png", "b/x.png"]
    assert pattern.code == 0


def test_detect_reports_every_face_and_marks_those_a_run_processes(facepop,
                                                                   group_photo) -> None:
    run = facepop("detect", group_photo, "--json")
    assert run.code == 0, run.err
    faces = json.loads(run.out)["faces"]
    assert len(faces) == 6
    assert [(f["processed"], f["index"]) for f in faces] == [
        (True, 0), (True, 1), (True, 2), (True, 3), (True, 4), (False, None)]
    every = json.loads(facepop("detect", group_photo, "--json", "--max-faces", "0").out)
    assert [f["index"] for f in every["faces"]] == [0, 1, 2, 3, 4, 5]
    ordered = json.loads(facepop("detect", group_photo, "--json", "--max-faces", "3",
                                 "--face-order", "left_to_right").out)["faces"]
    lefts = [f["box"][0] for f in ordered if f["processed"]]
    assert lefts == sorted(lefts) and len(lefts) == 3


def test_run_json_and_face_files_share_one_index(facepop, group_photo, tmp_path) -> None:
    out = tmp_path / "out"
    run = facepop("run", group_photo, "--out", out, "--debug", "--max-faces", "4",
                  "--face-order", "left_to_right")
    assert run.code == 0, run.err
    (debug,) = (out / "debug").iterdir()
    record = json.loads((debug / "run.json").read_text())
    indices = [face["index"] for face in record["faces"]]
    assert indices == [0, 1, 2, 3, None, None]
    assert [entry["index"] for entry in record["face_pass"]] == [0, 1, 2, 3]
    aligned = sorted(p.name for p in debug.glob("face-*-1-aligned.png"))
    assert aligned == [f"face-{i:02d}-1-aligned.png" for i in range(4)]
    detected = json.loads(facepop("detect", group_photo, "--json", "--max-faces", "4",
                                  "--face-order", "left_to_right").out)["faces"]
    assert [f["box"] for f in detected] == [f["box"] for f in record["faces"]]
    # Index NN is the NN-th face processed: left to right here, as face_order asks.
    lefts = [face["box"][0] for face in record["faces"][:4]]
    assert lefts == sorted(lefts)
