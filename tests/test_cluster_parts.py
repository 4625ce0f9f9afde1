"""The parts of a run on a cluster that need no cluster: the task a node runs (called here,
against a loopback WebUI), writing what tasks send back, the rules that hand images to
servers, and the summary's retried count (docs/render-farm.md)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path, PurePath

import pytest

from lib_facepop.api_client import RetryPolicy, ServerSettings
from lib_facepop.batch.inputs import InputImage
from lib_facepop.batch.outputs import OutputFolder
from lib_facepop.batch.progress import Progress, Tally, summary_lines
from lib_facepop.batch.runner import BatchOptions
from lib_facepop.cluster.dispatch import NODE_GONE, ON_ANOTHER_SERVER, Dispatch, Entry, Slot
from lib_facepop.cluster.recording import TASKS_FOLDER, task_folder
from lib_facepop.cluster.results import ForeignFileError, ResultWriter
from lib_facepop.cluster.tasks import (
    DONE,
    IMAGE_FAILED,
    SERVER_FAILED,
    SERVER_REFUSED,
    Assignment,
    ClusterJob,
    ImageItem,
    probe_node_server,
    process_image,
)
from lib_facepop.settings import FacePopSettings
from tests import test_cli_batch
from tests.fake_webui_server import running_fake_webui
from tests.test_cli_batch import FAST

facepop = test_cli_batch.facepop
renders = test_cli_batch.renders

QUICK = ServerSettings(timeout=30, retry=RetryPolicy(retries=1, first_delay=0.05))
SMALL = {"face_width": 256, "face_height": 256, "mask_source": "ellipse",
         "aggressive_detection": False, "enabled": True, "separate_face_processing": True,
         "save_faces": False}


@pytest.fixture(autouse=True)
def own_temporary_folder(tmp_path, monkeypatch) -> None:
    """Tasks keep their files under the temporary folder: this test's, here."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)


def _job(out: Path, **settings: object) -> ClusterJob:
    options = BatchOptions(settings=FacePopSettings.from_dict({**SMALL, **settings}),
                           out=OutputFolder(out), seed=7)
    return ClusterJob(options=options, servers=QUICK)


def _item(path: Path, data: bytes | None = None) -> ImageItem:
    return ImageItem(str(path), str(path), PurePath(path.stem),
                     path.read_bytes() if data is None else data)


# --- the task ----------------------------------------------------------------------------------

def test_a_task_sends_back_the_files_a_run_on_one_machine_writes(facepop, renders,
                                                                 tmp_path) -> None:
    with running_fake_webui() as server:
        alone = facepop("run", renders / "r1.png", "--out", tmp_path / "alone", "--server",
                        server.url, "--seed", "7", "--save-faces", "--face-width", "256",
                        "--face-height", "256", "--mask", "ellipse", *FAST)
        assert alone.code == 0, alone.err
        outcome = process_image(_job(tmp_path / "unused", save_faces=True),
                                _item(renders / "r1.png"),
                                Assignment(server.url, where={"node": "n1"}))
    assert outcome.status == DONE and outcome.faces == 1 and outcome.used_server
    assert [name for name, _ in outcome.files] == ["faces/r1-00.png", "r1.png"]  # result last
    for name, data in outcome.files:
        assert data == (tmp_path / "alone" / name).read_bytes(), name
    assert not (tmp_path / "unused").exists()


def test_a_task_says_whose_failure_it_was(renders, tmp_path) -> None:
    image = _item(renders / "r1.png")
    with running_fake_webui(fail_first=10) as failing:
        unavailable = process_image(_job(tmp_path), image, Assignment(failing.url))
    with running_fake_webui(credentials=("ann", "pw")) as locked:
        refused = process_image(_job(tmp_path), image, Assignment(locked.url))
    with running_fake_webui(status=422, message="bad field") as picky:
        request = process_image(_job(tmp_path), image, Assignment(picky.url))
    unreadable = process_image(_job(tmp_path), _item(renders / "r1.png", b"not a picture"),
                               Assignment())
    assert (unavailable.status, unavailable.reason) == (SERVER_FAILED,
                                                        "HTTP 500 CUDA out of memory")
    assert refused.status == SERVER_REFUSED and "HTTP 401" in refused.reason
    assert (request.status, request.reason, request.request_refused) == (
        IMAGE_FAILED, "HTTP 422 bad field", True)
    assert (unreadable.status, unreadable.reason) == (IMAGE_FAILED,
                                                      "not an image file FacePop can read")
    assert all(o.files == [] for o in (unavailable, refused, request, unreadable))


def test_the_probe_finds_the_nodes_server_in_its_environment() -> None:
    restoring = FacePopSettings(face_restoration="codeformer")
    with running_fake_webui() as server:
        found = probe_node_server(QUICK, restoring, environ={"FACEPOP_SERVER": server.url})
        url = server.url
    with running_fake_webui(extras_api=False) as older:
        lacking = probe_node_server(QUICK, restoring, environ={"FACEPOP_SERVER": older.url})
    gone = probe_node_server(QUICK, None, environ={"FACEPOP_SERVER": url})
    wrong = probe_node_server(QUICK, None, environ={"FACEPOP_SERVER": "localhost:7860"})
    assert (found.url, found.problem, "CodeFormer" in found.offer.restorers) == (url, None, True)
    assert gone.problem.why.startswith("can't connect") and not gone.problem.refused
    assert lacking.problem.lacking and not lacking.problem.refused
    assert "no extras API" in lacking.problem.why and "face restoration" in lacking.problem.why
    assert "--face-restoration" in lacking.problem.remedy
    assert wrong.problem.why == ("$FACEPOP_SERVER localhost:7860: must start with http:// or "
                                 "https://")


def test_a_task_folder_left_by_a_killed_worker_is_removed_by_the_next(tmp_path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    orphan = tmp_path / TASKS_FOLDER / f"{dead}-abc"
    orphan.mkdir(parents=True)
    (orphan / "r1.png").write_bytes(b"half")
    alive = tmp_path / TASKS_FOLDER / f"{os.getppid()}-def"
    alive.mkdir()
    with task_folder() as folder:
        assert folder.parent == tmp_path / TASKS_FOLDER and folder.is_dir()
        assert not orphan.exists() and alive.exists()
    assert not folder.exists()


# --- writing what comes back -------------------------------------------------------------------

def test_each_image_is_written_once_result_last_debug_folders_apart(tmp_path) -> None:
    out = OutputFolder(tmp_path / "out")
    image = InputImage(Path("a.png"), "a.png", PurePath("sub/a"))
    other = InputImage(Path("b.png"), "b.png", PurePath("b"))
    writer = ResultWriter(out)
    stamp = "20260101-000000-000"
    files = [(f"debug/{stamp}-a/run.json", b"{}"), ("sub/a.png", b"first")]
    assert writer.write(image, files) == tmp_path / "out" / "sub" / "a.png"
    assert writer.write(image, [("sub/a.png", b"second")]) is None  # a retried task's answer
    assert (tmp_path / "out" / "sub" / "a.png").read_bytes() == b"first"
    writer.write(other, [(f"debug/{stamp}-a/run.json", b"[]"), ("b.png", b"b")])
    assert sorted(p.name for p in (tmp_path / "out" / "debug").iterdir()) == [
        f"{stamp}-a", f"{stamp}-a-2"]
    with pytest.raises(ForeignFileError):
        writer.write(InputImage(Path("c.png"), "c.png", PurePath("c")),
                     [("../escape.png", b"x"), ("c.png", b"c")])
    assert not (tmp_path / "escape.png").exists()


# --- handing out -------------------------------------------------------------------------------

def _dispatch(*capacities: int) -> tuple[Dispatch, list[Slot], Progress, io.StringIO]:
    stream = io.StringIO()
    progress = Progress(4, stream, bar=False)
    slots = [Slot(f"s{i}", f"node n{i} (http://127.0.0.1:7860)", "http://127.0.0.1:7860",
                  node_id=f"n{i}", capacity=c) for i, c in enumerate(capacities)]
    return Dispatch(slots, progress), slots, progress, stream


def _entry(name: str) -> Entry:
    return Entry(InputImage(Path(name), name, PurePath(Path(name).stem)))


def test_a_failing_server_hands_its_images_on_and_is_dropped_after_two_in_a_row() -> None:
    dispatch, (first, second), progress, stream = _dispatch(1, 1)
    a, b = _entry("a.png"), _entry("b.png")
    dispatch.server_failed(a, first, "HTTP 503")
    assert dispatch.slot_for(a) is second and first.alive  # not the server that failed it
    dispatch.server_failed(b, first, "HTTP 503")
    assert not first.alive and list(dispatch.waiting) == [b, a]
    dispatch.server_failed(b, second, "HTTP 500")  # failed everywhere left: fails for good
    lines = stream.getvalue().splitlines()
    assert lines[0] == ("facepop: a.png: node n0 (http://127.0.0.1:7860): HTTP 503; "
                        "another server will do it")
    assert "facepop: dropping server node n0 (http://127.0.0.1:7860): HTTP 503 (2 images " \
           "failed in a row)" in lines
    assert progress.tally.failures == [("b.png", "failed on 2 servers; last: node n1 "
                                                  "(http://127.0.0.1:7860): HTTP 500")]
    assert progress.tally.retried == {ON_ANOTHER_SERVER: ["a.png", "b.png"]}


def test_an_image_whose_node_died_is_tried_again_and_the_node_dropped() -> None:
    dispatch, (first, second), progress, _ = _dispatch(1, 2)
    a = _entry("a.png")
    dispatch.lost(a, first, node_gone=True, detail="NodeDiedError")
    assert not first.alive and second.alive
    assert dispatch.next_waiting() == (a, second)
    assert progress.tally.retried == {NODE_GONE: ["a.png"]}
    dispatch.lost(a, second, node_gone=False, detail="worker crashed")
    dispatch.lost(a, second, node_gone=False, detail="worker crashed")
    assert progress.tally.failures == [("a.png", "its worker died 3 times (last: worker "
                                                  "crashed)")]


def test_the_summary_counts_the_retried_images_after_the_failed() -> None:
    tally = Tally(total=3, done=3, faces=3,
                  retried={NODE_GONE: ["a.png", "b.png"], ON_ANOTHER_SERVER: ["a.png"]})
    lines = summary_lines(tally, 2.0)
    assert lines[0] == ("facepop: finished 3 of 3 images in 2.0 s: 3 done (3 faces "
                        "processed), 0 skipped, 0 failed, 2 retried")
    assert lines[1] == f"facepop:   retried: 2 image(s) {NODE_GONE}: a.png, b.png"
    plain = summary_lines(Tally(total=1, done=1), 1.0)[0]
    assert plain.endswith("0 skipped, 0 failed")  # nothing retried: the line as it was
