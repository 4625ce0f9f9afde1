"""``facepop run`` with face restoration and upscalers against WebUI servers on loopback
(tests/fake_webui_server): the server's extras API restores the upright face crop and
enlarges small faces, each image on the server that processes it; what a server lacks is
said once before any work; a failing extras request is retried or fails the image; the
debugging folder records which server and tools did it (docs/quality.md, docs/cli.md)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from lib_facepop.blend import mix
from tests import test_cli_batch
from tests.fake_webui_server import _decode, restored_by, running_fake_webui
from tests.test_cli_batch import FAST

facepop = test_cli_batch.facepop  # the fixture: the command line in this process

# Small faces for speed; ellipse masks need no model.
SMALL = ("--face-width", "256", "--face-height", "256", "--mask", "ellipse")


@pytest.fixture(scope="module")
def photos(tmp_path_factory, astronaut, coffee) -> Path:
    """Four photos with the astronaut's face (as is, mirrored, cropped) and one without."""
    folder = tmp_path_factory.mktemp("photos")
    variants = {"a1": astronaut, "a2": astronaut[:, ::-1], "a3": astronaut[:480],
                "a4": astronaut[:, ::-1][:500]}
    for name, pixels in variants.items():
        Image.fromarray(np.ascontiguousarray(pixels)).save(folder / f"{name}.png")
    Image.fromarray(coffee).save(folder / "a5.png")
    return folder


@pytest.fixture(scope="module")
def big_and_small(tmp_path_factory, astronaut) -> Path:
    """The astronaut as is (a face of about 110 px) and at 160 px (a face of about 35 px)."""
    canvas = np.full((512, 700, 3), 200, np.uint8)
    canvas[:, :512] = astronaut
    canvas[40:200, 530:690] = cv2.resize(astronaut, (160, 160), interpolation=cv2.INTER_AREA)
    path = tmp_path_factory.mktemp("two") / "two.png"
    Image.fromarray(canvas).save(path)
    return path


def _runs(out: Path) -> dict[str, dict]:
    """run.json of each debugging folder under ``out``, by image stem."""
    return {folder.name.split("-", 3)[3]: json.loads((folder / "run.json").read_text())
            for folder in sorted((out / "debug").iterdir())}


def _debug_picture(out: Path, stem: str, name: str) -> np.ndarray:
    (folder,) = [f for f in (out / "debug").iterdir() if f.name.endswith(f"-{stem}")]
    return np.asarray(Image.open(folder / name).convert("RGB"))


# --- restoration ----------------------------------------------------------------------------------

def test_restoration_sends_the_upright_processed_face_with_weight_and_visibility(
        facepop, photos, tmp_path) -> None:
    out = tmp_path / "out"
    with running_fake_webui() as server:
        run = facepop("run", photos / "a1.png", "--out", out, "--server", server.url,
                      "--face-restoration", "codeformer", "--codeformer-weight", "0.6",
                      "--restore-visibility", "0.5", "--no-colour-match", "--debug",
                      *SMALL, *FAST)
    assert run.code == 0, run.err
    (body,) = server.extras_requests
    assert (body["codeformer_visibility"], body["gfpgan_visibility"],
            body["codeformer_weight"], body["upscaler_1"]) == (1.0, 0.0, 0.6, "None")
    processed = _debug_picture(out, "a1", "face-00-5-processed.png")
    assert np.array_equal(_decode(body["image"]), processed)  # the face pass's upright face
    expected = mix(processed, restored_by("CodeFormer", processed, 0.6), 0.5)
    restored = _debug_picture(out, "a1", "face-00-6-restored.png")
    assert np.abs(restored.astype(int) - expected).max() <= 1
    record = _runs(out)["a1"]
    assert record["server"] == {"url": server.url, "face_restorer": "CodeFormer",
                                "upscaler": None}
    assert record["face_pass"][0]["restored"] is True
    assert "not available" not in run.err


def test_a_face_taller_than_wide_is_restored_on_the_server_at_its_size(facepop, photos,
                                                                        tmp_path) -> None:
    out = tmp_path / "out"
    with running_fake_webui() as server:
        run = facepop("run", photos / "a1.png", "--out", out, "--server", server.url,
                      "--face-restoration", "gfpgan", "--face-width", "192",
                      "--face-height", "256", "--mask", "ellipse", "--debug", *FAST)
    assert run.code == 0, run.err
    ((body,), (face_pass,)) = server.extras_requests, server.requests
    assert (face_pass["width"], face_pass["height"]) == (192, 256)
    assert _decode(body["image"]).shape == (256, 192, 3)
    restored = _debug_picture(out, "a1", "face-00-6-restored.png")
    assert restored.shape == (256, 192, 3)
    assert _runs(out)["a1"]["face_pass"][0]["restored"] is True


def test_a_server_without_the_restorer_says_so_once_and_the_run_goes_on(facepop, photos,
                                                                        tmp_path) -> None:
    out = tmp_path / "out"
    with running_fake_webui(restorers=("GFPGAN",)) as server:
        run = facepop("run", photos / "a1.png", photos / "a2.png", "--out", out,
                      "--server", server.url, "--face-restoration", "codeformer", *SMALL,
                      *FAST)
    assert run.code == 0, run.err
    said = [line for line in run.lines if "CodeFormer" in line]
    assert said == [f"facepop: {server.url}: face restoration with CodeFormer is not "
                    f"available here; faces are not restored"]
    assert server.extras_requests == [] and len(server.requests) == 2
    assert (out / "a1.png").exists() and (out / "a2.png").exists()


def test_restoration_failing_once_on_the_server_is_retried(facepop, photos, tmp_path) -> None:
    out = tmp_path / "out"
    with running_fake_webui(extras_fail_first=1) as server:
        run = facepop("run", photos / "a1.png", "--out", out, "--server", server.url,
                      "--face-restoration", "gfpgan", *SMALL, *FAST)
    assert run.code == 0, run.err
    assert len(server.extras_requests) == 2 and (out / "a1.png").exists()
    assert "failed" not in run.err.replace("0 failed", "")


def test_a_restored_face_of_the_wrong_size_fails_the_image_with_one_clear_line(
        facepop, photos, tmp_path) -> None:
    out = tmp_path / "out"
    with running_fake_webui(extras_image_size=(64, 32)) as server:
        run = facepop("run", photos / "a1.png", photos / "a5.png", "--out", out, "--server",
                      server.url, "--face-restoration", "codeformer", *SMALL, *FAST)
    assert run.code == 1
    assert not (out / "a1.png").exists() and (out / "a5.png").exists()  # a5: no face
    failures = [line for line in run.lines if ": failed: " in line and "  " not in line]
    assert failures == [f"facepop: {photos / 'a1.png'}: failed: failed on 1 server; last: "
                        f"{server.url}: CodeFormer returned a 64x32 image for 256x256"]
    assert "faces it fails on are not restored" not in run.err  # not left out: failed


def test_a_restoration_that_changed_nothing_is_noted(facepop, photos, tmp_path) -> None:
    out = tmp_path / "out"
    with running_fake_webui(restorer_finds_no_face=True) as server:
        run = facepop("run", photos / "a1.png", photos / "a2.png", "--out", out, "--server",
                      server.url, "--face-restoration", "codeformer", *SMALL, *FAST)
    assert run.code == 0, run.err
    notes = [line for line in run.lines if "returned unchanged" in line]
    assert len(notes) == 2  # said once, then counted in the summary
    assert "note: 2 image(s) had a face the server's face restoration returned unchanged" \
        in notes[1]


def test_without_a_server_restoration_is_said_once_per_run_and_skipped(facepop, photos,
                                                                       tmp_path) -> None:
    run = facepop("run", photos / "a1.png", photos / "a2.png", "--out", tmp_path / "out",
                  "--face-restoration", "codeformer", "--upscaler", "R-ESRGAN 4x+", *SMALL,
                  *FAST)
    assert run.code == 0, run.err
    assert sum("CodeFormer is not available" in line for line in run.lines) == 1
    assert sum("'R-ESRGAN 4x+' is not available" in line for line in run.lines) == 1


# --- upscalers ------------------------------------------------------------------------------------

def test_the_servers_upscaler_enlarges_the_small_face_only(facepop, big_and_small,
                                                            tmp_path) -> None:
    out = tmp_path / "out"
    with running_fake_webui() as server:
        run = facepop("run", big_and_small, "--out", out, "--server", server.url,
                      "--upscaler", "r-esrgan 4x+", "--face-width", "128", "--face-height",
                      "128", "--mask", "ellipse", "--debug", "--retry-delay", "0.05")
    assert run.code == 0, run.err
    (body,) = server.extras_requests  # one face small enough to enlarge
    sent = _decode(body["image"])
    assert (body["upscaler_1"], body["upscaling_resize_w"], body["upscaling_resize_h"],
            body["resize_mode"], body["upscaling_crop"]) == ("R-ESRGAN 4x+", 128, 128, 1,
                                                             False)
    assert max(sent.shape[:2]) < 128
    record = _runs(out)["two"]
    assert [face["upscaler"] for face in record["face_pass"]] == [None, "R-ESRGAN 4x+"]
    assert record["server"]["upscaler"] == "R-ESRGAN 4x+"
    big, small = (_debug_picture(out, "two", f"face-0{i}-1-aligned.png") for i in (0, 1))
    # The fake's model copies red into blue: only the small face went through it.
    assert np.abs(small[..., 2].astype(int) - small[..., 0]).max() <= 1
    assert np.abs(big[..., 2].astype(int) - big[..., 0]).mean() > 10


def test_an_upscaler_no_server_has_is_a_usage_error_before_any_work(facepop, photos,
                                                                     tmp_path) -> None:
    out = tmp_path / "out"
    with running_fake_webui() as server:
        run = facepop("run", photos / "a1.png", "--out", out, "--server", server.url,
                      "--upscaler", "R-ESRGAN 4x", *SMALL, *FAST)
    assert run.code == 2
    assert run.lines[-1].startswith("facepop: --upscaler 'R-ESRGAN 4x': no server has this "
                                    "upscaler; did you mean 'R-ESRGAN 4x+'? (the server has: "
                                    "Nearest, ESRGAN_4x, R-ESRGAN 4x+")
    assert server.requests == [] and server.extras_requests == []
    assert not (out / "a1.png").exists()


# --- several servers ------------------------------------------------------------------------------

def test_each_image_is_restored_by_its_own_server_and_a_dropped_ones_tools_go_with_it(
        facepop, photos, tmp_path) -> None:
    out = tmp_path / "out"
    # The steady server is slow, so the other takes a second image after its first and dies.
    with (running_fake_webui(die_after=1) as dying,
          running_fake_webui(delay=1.0) as steady):
        run = facepop("run", photos, "--out", out, "--server", dying.url, "--server",
                      steady.url, "--face-restoration", "gfpgan", "--debug", *SMALL, *FAST)
    assert run.code == 0, run.err
    assert sum("dropping server" in line and dying.url in line for line in run.lines) == 1
    runs = _runs(out)
    done_on = {stem: record["server"]["url"] for stem, record in runs.items()
               if "server" in record}
    assert sorted(done_on) == ["a1", "a2", "a3", "a4"]  # a5 has no face: done here
    assert sorted(done_on.values()).count(dying.url) == 1
    for stem in done_on:
        assert runs[stem]["face_pass"][0]["restored"] is True
    # Each server restored exactly the faces it processed: the dying one its one image.
    assert len(dying.extras_requests) == 1 and len(steady.extras_requests) == 3


def test_a_server_lacking_the_upscaler_enlarges_with_lanczos_the_others_with_theirs(
        facepop, big_and_small, tmp_path) -> None:
    out = tmp_path / "out"
    images = tmp_path / "in"
    images.mkdir()
    for i in range(4):
        (images / f"t{i}.png").write_bytes(big_and_small.read_bytes())
    with (running_fake_webui(delay=0.5, upscalers=(("None", 4), ("Lanczos", 4))) as plain,
          running_fake_webui(delay=0.5) as esrgan):
        run = facepop("run", images, "--out", out, "--server", plain.url, "--server",
                      esrgan.url, "--upscaler", "R-ESRGAN 4x+", "--face-width", "128",
                      "--face-height", "128", "--mask", "ellipse", "--debug",
                      "--retry-delay", "0.05")
    assert run.code == 0, run.err
    said = [line for line in run.lines if "is not available here" in line]
    assert len(said) == 1 and said[0].startswith(f"facepop: {plain.url}: upscaler "
                                                 f"'R-ESRGAN 4x+' is not available here")
    by_server = {plain.url: "Lanczos", esrgan.url: "R-ESRGAN 4x+"}
    runs = _runs(out)
    for record in runs.values():
        assert record["face_pass"][1]["upscaler"] == by_server[record["server"]["url"]]
    assert plain.extras_requests == []
    on_esrgan = sum(r["server"]["url"] == esrgan.url for r in runs.values())
    assert len(esrgan.extras_requests) == on_esrgan
