"""``facepop run`` meeting what a new user's batch meets: a settings file from a Windows
editor, a server without the extras API, a pattern inside the output folder, a run killed
with kill -9, the same file name in two folders, two runs into one folder, a FIFO given as
an image. Each fault is one line naming what is wrong and what to do, with the exit status
of docs/design.md section 3.1, and nothing is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests import test_cli_batch
from tests.fake_webui_server import running_fake_webui
from tests.helpers import psnr
from tests.test_cli_batch import FAST, ROOT, facepop_process

facepop = test_cli_batch.facepop  # the fixture: the command line in this process
renders = test_cli_batch.renders  # five photos with a face (r1..r5.png), one without (r6.jpg)

QUICK = ("--no-aggressive-detection", "--mask", "ellipse")


def _wait_for(condition, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _pictures(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.png")
                  if not any(part.startswith(".") for part in p.relative_to(folder).parts))


# --- settings -------------------------------------------------------------------------------------

def test_a_settings_file_that_is_not_utf8_is_named_with_the_byte_offset(facepop, renders,
                                                                        tmp_path) -> None:
    data = '{"face_prompt": "caf\xe9 au lait"}'.encode("latin-1")  # a Windows editor's
    path = tmp_path / "faces.json"
    path.write_bytes(data)
    run = facepop("run", renders / "r6.jpg", "--out", tmp_path / "out", "--settings", path)
    offset = data.index(b"\xe9")
    assert run.code == 2
    assert run.lines == [f"facepop: --settings {path}: not UTF-8 text (byte 0xe9 at offset "
                         f"{offset}); save it as UTF-8"]
    assert not (tmp_path / "out" / "r6.png").exists()


def test_an_api_fields_file_that_is_not_utf8_is_named_with_the_byte_offset(facepop, renders,
                                                                           tmp_path) -> None:
    data = '{"prompt": "\xc9t\xe9"}'.encode("latin-1")
    path = tmp_path / "fields.json"
    path.write_bytes(data)
    with running_fake_webui() as server:
        run = facepop("run", renders / "r1.png", "--out", tmp_path / "out", "--server",
                      server.url, "--api-fields", path, *FAST)
    offset = data.index(b"\xc9")
    assert run.code == 2 and server.requests == []
    assert run.lines == [f"facepop: --api-fields {path}: not UTF-8 text (byte 0xc9 at offset "
                         f"{offset}); save it as UTF-8"]


def test_settings_are_a_file_or_inline_json_and_the_help_says_so(facepop, renders,
                                                                 tmp_path) -> None:
    inline = facepop("run", renders / "r6.jpg", "--out", tmp_path / "a", "--settings",
                     '{"padding": 20, "max_faces": 2}', "--debug", *QUICK)
    assert inline.code == 0, inline.err
    (debug,) = (tmp_path / "a" / "debug").iterdir()
    recorded = json.loads((debug / "run.json").read_text())["settings"]
    assert (recorded["padding"], recorded["max_faces"]) == (20.0, 2)
    file = tmp_path / "s.json"
    file.write_text('{"padding": 30}')
    from_file = facepop("run", renders / "r6.jpg", "--out", tmp_path / "b", "--settings",
                        file, "--debug", *QUICK)
    (debug,) = (tmp_path / "b" / "debug").iterdir()
    assert from_file.code == 0
    assert json.loads((debug / "run.json").read_text())["settings"]["padding"] == 30.0
    broken = facepop("run", renders / "r6.jpg", "--out", tmp_path / "c", "--settings",
                     '{"padding": }')
    assert broken.code == 2 and len(broken.lines) == 1
    assert broken.err.startswith("facepop: --settings: not valid JSON (Expecting value: "
                                 "line 1 column 13 (char 12))")
    unknown = facepop("run", renders / "r6.jpg", "--out", tmp_path / "c", "--settings",
                      '{"paddin": 20}')
    assert unknown.code == 2 and "did you mean 'padding'?" in unknown.err
    helped = facepop("run", "--help")
    text = " ".join(helped.out.split())
    assert "--settings FILE|JSON" in text
    assert "a JSON file of named settings, or the JSON itself" in text


@pytest.mark.parametrize(("flag", "value"), [
    ("--face-steps", "inf"), ("--face-steps", "nan"), ("--face-cfg-scale", "inf"),
    ("--steps", "inf"), ("--progress-interval", "inf"), ("--timeout", "nan"),
    ("--seed", "inf"), ("--face-batch", "inf"),
])
def test_a_number_that_is_not_finite_is_named_as_such(facepop, renders, tmp_path, flag,
                                                      value) -> None:
    run = facepop("run", renders / "r6.jpg", "--out", tmp_path / "out", flag, value)
    assert run.code == 2
    assert run.lines[-1] == (f"facepop run: error: argument {flag}: {value} is not a finite "
                             f"number")


# --- servers --------------------------------------------------------------------------------------

def test_a_server_without_the_extras_api_is_left_out_and_the_other_does_every_image(
        facepop, renders, tmp_path) -> None:
    out = tmp_path / "out"
    with running_fake_webui(extras_api=False) as bare, running_fake_webui() as full:
        run = facepop("run", renders / "r1.png", renders / "r2.png", renders / "r6.jpg",
                      "--out", out, "--server", bare.url, "--server", full.url,
                      "--face-restoration", "codeformer", *QUICK, *FAST)
    assert run.code == 0, run.err
    named = [line for line in run.lines if bare.url in line]
    assert named == [f"facepop: leaving out {bare.url}: it has no /sdapi/v1/face-restorers "
                     f"(HTTP 404: no extras API; an older WebUI, a fork, or a proxy that "
                     f"forwards only img2img), which face restoration needs"]
    assert bare.requests == [] and len(full.requests) == 2 and len(full.extras_requests) == 2
    assert _pictures(out) == ["r1.png", "r2.png", "r6.png"]


def test_with_no_server_having_the_extras_api_the_run_stops_before_any_work(
        facepop, renders, tmp_path) -> None:
    out = tmp_path / "out"
    with running_fake_webui(extras_api=False) as bare:
        run = facepop("run", renders / "r1.png", "--out", out, "--server", bare.url,
                      "--upscaler", "R-ESRGAN 4x+", *QUICK, *FAST)
    assert run.code == 2 and bare.requests == []
    assert run.lines == [f"facepop: no server can do what was asked: {bare.url}: it has no "
                         f"/sdapi/v1/face-restorers (HTTP 404: no extras API; an older "
                         f"WebUI, a fork, or a proxy that forwards only img2img), which the "
                         f"upscaler 'R-ESRGAN 4x+' needs; give a --server with the extras "
                         f"API, or run without --upscaler"]
    assert not out.exists() or _pictures(out) == []


def test_a_refused_request_names_the_server(facepop, renders, tmp_path) -> None:
    with running_fake_webui() as server:
        run = facepop("run", renders / "r1.png", "--out", tmp_path / "out", "--server",
                      server.url, "--api-fields", '{"restore_faces": "maybe"}', *FAST)
    assert run.code == 1
    assert (f"facepop: {renders / 'r1.png'}: failed: {server.url}: HTTP 422 restore_faces: "
            f"value could not be parsed to a boolean") in run.lines


# --- inputs ---------------------------------------------------------------------------------------

def test_a_pattern_or_folder_inside_the_output_folder_is_a_usage_error(facepop, renders,
                                                                       tmp_path) -> None:
    out = tmp_path / "out"
    assert facepop("run", renders / "r6.jpg", "--out", out, *QUICK).code == 0
    (out / "sub").mkdir()
    (out / "sub" / "x.png").write_bytes((out / "r6.png").read_bytes())
    pattern = facepop("run", f"{out}/*.png", "--out", out)
    folder = facepop("run", out / "sub", "--out", out)
    for run, given in ((pattern, f"{out}/*.png"), (folder, str(out / "sub"))):
        assert run.code == 2
        assert run.lines == [f"facepop: {given}: every image it names is inside --out {out}, "
                             f"where the results go; give the results a folder of their own"]
    assert _pictures(out) == ["r6.png", "sub/x.png"]


def test_the_same_file_name_in_two_folders_keeps_both(facepop, tmp_path, coffee) -> None:
    shots = tmp_path / "shots"
    pictures = {"scene1/s.png": coffee, "scene2/s.png": np.ascontiguousarray(coffee[::-1]),
                "scene2/t.png": np.ascontiguousarray(coffee[:, ::-1])}
    for name, pixels in pictures.items():
        (shots / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(shots / name)
    out = tmp_path / "out"
    files = facepop("run", shots / "scene1/s.png", shots / "scene2/s.png",
                    shots / "scene2/t.png", "--out", out, *QUICK)
    assert files.code == 0, files.err
    # The two s.png under their paths below their common folder; t.png as before.
    assert _pictures(out) == ["scene1/s.png", "scene2/s.png", "t.png"]
    for name in ("scene1/s.png", "scene2/s.png"):
        assert psnr(np.asarray(Image.open(out / name)), pictures[name]) > 40, name
    folders = facepop("run", shots / "scene1", shots / "scene2", "--out", tmp_path / "out2",
                      *QUICK)
    assert folders.code == 0, folders.err
    assert _pictures(tmp_path / "out2") == ["scene1/s.png", "scene2/s.png", "t.png"]
    again = facepop("run", shots / "scene1", shots / "scene2", "--out", tmp_path / "out2",
                    *QUICK)
    assert "0 done (0 faces processed), 3 skipped" in again.err  # resume finds them


def test_names_that_differ_only_in_case_are_still_refused(facepop, tmp_path, coffee) -> None:
    for name in ("a/Shot.png", "a/shot.png"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        Image.fromarray(coffee).save(tmp_path / name)
    if len(list((tmp_path / "a").iterdir())) < 2:
        pytest.skip("this file system does not tell Shot.png from shot.png")
    run = facepop("run", tmp_path / "a/Shot.png", tmp_path / "a/shot.png", "--out",
                  tmp_path / "out")
    assert run.code == 2 and len(run.lines) == 1
    assert "differ only in case" in run.err and "rename one" in run.err


def test_a_fifo_or_a_device_as_input_fails_alone_and_does_not_hang(renders, tmp_path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "lib_facepop", "run", str(fifo), "/dev/zero",
                           str(renders / "r6.jpg"), "--out", str(out), *QUICK],
                          capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert (f"facepop: {fifo}: failed: is a FIFO, not a regular file; give an image file"
            in lines)
    assert ("facepop: /dev/zero: failed: is a character device, not a regular file; give an "
            "image file") in lines
    assert _pictures(out) == ["r6.png"]


# --- debris of a killed run, two runs into one folder ---------------------------------------------

def _debris(out: Path, age: float) -> list[Path]:
    """Partial files as a run killed while writing leaves them, ``age`` seconds old."""
    paths = [out / ".r1.png.0123abcd.facepop-partial",
             out / "faces" / ".r1-00.png.89abcdef.facepop-partial"]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x89PNG half")
        then = time.time() - age
        os.utime(path, (then, then))
    return paths


def test_partial_files_a_killed_run_left_are_removed_and_counted(facepop, renders,
                                                                 tmp_path) -> None:
    out = tmp_path / "out"
    debris = _debris(out, age=60)
    others = [out / ".notes.facepop-partial", out / "mine.png.0123abcd.facepop-partial",
              out / ".x.png.zz.facepop-partial", out / ".x.png.0123abcd.partial"]
    for path in others:  # not FacePop's pattern: left alone
        path.write_bytes(b"x")
    run = facepop("run", renders / "r6.jpg", "--out", out, *QUICK)
    assert run.code == 0, run.err
    assert not any(path.exists() for path in debris)
    assert all(path.exists() for path in others)
    assert run.lines[0] == (f"facepop: removed 2 partial files a stopped run left in "
                            f"--out {out}")
    again = facepop("run", renders / "r6.jpg", "--out", out, *QUICK)
    assert not any("partial" in line for line in again.lines)


def test_two_runs_into_one_folder_share_the_images(facepop, renders, tmp_path) -> None:
    out = tmp_path / "out"
    images = [renders / f"r{i}.png" for i in range(1, 6)]
    old = _debris(out, age=600)
    gate = threading.Event()
    with running_fake_webui(hold=gate) as held, running_fake_webui() as free:
        first = facepop_process("run", *images, "--out", out, "--server", held.url, *FAST,
                                *QUICK, background=True)
        try:
            _wait_for(lambda: held.requests, "the first run's first request")
            live = out / ".r5.png.fedcba98.facepop-partial"  # as if the first run wrote it
            live.write_bytes(b"being written")
            second = facepop("run", *images, "--out", out, "--server", free.url, *FAST,
                             *QUICK)
        finally:
            gate.set()
            _, first_err = first.communicate(timeout=120)
    assert (first.returncode, second.code) == (0, 0), (first_err, second.err)
    # Every image done once: what the first run had taken was left to it.
    assert len(held.requests) + len(free.requests) == 5
    assert held.requests and free.requests
    assert _pictures(out) == [f"r{i}.png" for i in range(1, 6)]
    assert (f"facepop: another run (PID {first.pid} on {os.uname().nodename}) is writing "
            f"into --out {out}; the images it has taken are left to it") in second.lines
    assert "being done by another run" in second.err
    assert not any(path.exists() for path in old) and live.exists()
    assert "removed 2 partial files" in first_err  # at its start
    assert "partial" not in second.err


def test_a_run_killed_with_sigkill_leaves_nothing_in_the_way_of_the_next(
        facepop, renders, tmp_path) -> None:
    out = tmp_path / "out"
    images = [renders / f"r{i}.png" for i in range(1, 6)]
    gate = threading.Event()
    with running_fake_webui(hold=gate) as held:
        killed = facepop_process("run", *images, "--out", out, "--server", held.url, *FAST,
                                 *QUICK, background=True)
        try:
            _wait_for(lambda: held.requests, "the run's first request")
            killed.send_signal(signal.SIGKILL)
            killed.communicate(timeout=60)
        finally:
            gate.set()
    debris = _debris(out, age=5)
    with running_fake_webui() as server:
        run = facepop("run", *images, "--out", out, "--server", server.url, *FAST, *QUICK)
    assert run.code == 0, run.err
    assert len(server.requests) == 5 and _pictures(out) == [f"r{i}.png" for i in range(1, 6)]
    assert not any("another run" in line for line in run.lines)
    assert not any(path.exists() for path in debris)
    # Nothing of either run is left behind but the results.
    hidden = [p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()
              and any(part.startswith(".") for part in p.relative_to(out).parts)]
    assert hidden == []


def test_on_a_file_system_without_locks_the_run_goes_on_alone(facepop, renders, tmp_path,
                                                             monkeypatch) -> None:
    import errno
    import fcntl

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    out = tmp_path / "out"
    run = facepop("run", renders / "r6.jpg", "--out", out, *QUICK)
    assert run.code == 0, run.err
    assert run.lines[0] == (f"facepop: --out {out}: can't share it with other runs (the file "
                            f"system has no file locks: No locks available); if another run "
                            f"writes there too, some images may be done twice")
    assert _pictures(out) == ["r6.png"] and not (out / ".facepop-runs").exists()
