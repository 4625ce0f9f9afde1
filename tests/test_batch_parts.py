"""The parts of a batch run: which inputs, which output names, the output folder check, the
work queue of several servers, and what progress says."""

from __future__ import annotations

import io
import json
import os
import threading
from pathlib import Path, PurePath

import pytest

from lib_facepop.batch.inputs import (
    InputClashError,
    InputImage,
    expand_inputs,
    refuse_clashes,
)
from lib_facepop.batch.outputs import OutputFolder, OutputFolderError
from lib_facepop.batch.progress import Progress
from lib_facepop.batch.shared_folder import RunInfo, SharedFolder
from lib_facepop.batch.work_queue import WorkQueue


def _touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


# --- inputs -----------------------------------------------------------------------------------

def test_files_folders_and_patterns(tmp_path, monkeypatch) -> None:
    _touch(tmp_path, "a.png", "b.JPG", "notes.txt", ".hidden.png", "sub/c.webp",
           "sub/.cache/d.png", "other/e.tif")
    monkeypatch.chdir(tmp_path)
    found = expand_inputs(["other/e.tif", ".", "sub/*.webp", "missing.png"])
    assert [(i.shown, i.output.as_posix()) for i in found.images] == [
        ("other/e.tif", "e"), ("a.png", "a"), ("b.JPG", "b"), ("sub/c.webp", "c"),
        ("missing.png", "missing")]  # a missing file fails when it is read
    assert found.missing == []


def test_recursive_folders_keep_their_layout_and_skip_hidden_and_output(tmp_path) -> None:
    _touch(tmp_path, "shots/a.png", "shots/day2/a.png", "shots/.trash/x.png",
           "shots/out/a.png")
    found = expand_inputs([str(tmp_path / "shots")], recursive=True,
                          exclude=tmp_path / "shots" / "out")
    assert [i.output.as_posix() for i in found.images] == ["a", "day2/a"]
    flat = expand_inputs([str(tmp_path / "shots")])
    assert [i.output.as_posix() for i in flat.images] == ["a"]


def test_double_star_patterns_keep_the_path_below_their_fixed_part(tmp_path) -> None:
    _touch(tmp_path, "r/x/1.png", "r/y/z/2.png", "r/3.jpg")
    found = expand_inputs([f"{tmp_path}/r/**/*.png"])
    assert [i.output.as_posix() for i in found.images] == ["x/1", "y/z/2"]


def test_inputs_naming_no_image_are_reported(tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    _touch(tmp_path, "deep/sub/a.png")
    found = expand_inputs([f"{tmp_path}/*.gif", str(tmp_path / "empty"),
                           str(tmp_path / "deep")])
    assert found.images == []
    reasons = [reason for _, reason in found.missing]
    assert reasons == ["no image matches this pattern", "no images in this folder",
                       "no images in this folder (--recursive looks in its subfolders too)"]


def test_the_same_file_twice_is_taken_once(tmp_path) -> None:
    _touch(tmp_path, "a.png")
    found = expand_inputs([str(tmp_path / "a.png"), str(tmp_path), str(tmp_path / "*.png")])
    assert len(found.images) == 1


def test_two_inputs_for_one_output_name_are_refused(tmp_path) -> None:
    _touch(tmp_path, "a.png", "a.jpg")
    with pytest.raises(InputClashError, match=r"a.jpg and .*a.png would both be written as "
                                              r"a.png"):
        refuse_clashes(expand_inputs([str(tmp_path)]).images)
    refuse_clashes([InputImage(Path("x/a.png"), "x", PurePath("x/a")),
                    InputImage(Path("a.png"), "a", PurePath("a"))])
    with pytest.raises(InputClashError):  # not told apart by some file systems
        refuse_clashes([InputImage(Path("A.png"), "A", PurePath("A")),
                        InputImage(Path("a.png"), "a", PurePath("a"))])


# --- output folder ----------------------------------------------------------------------------

def test_a_missing_output_folder_is_made(tmp_path) -> None:
    OutputFolder(tmp_path / "new" / "results").prepare()
    assert (tmp_path / "new" / "results").is_dir()
    assert list((tmp_path / "new" / "results").iterdir()) == []  # the probe is gone


def test_an_output_folder_that_is_a_file_or_under_one_is_refused(tmp_path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputFolderError, match=r"f: is a file, not a folder"):
        OutputFolder(tmp_path / "f").prepare()
    with pytest.raises(OutputFolderError, match=r"can't make this folder, .*/f is a file"):
        OutputFolder(tmp_path / "f" / "sub" / "out").prepare()


def read_only_folder(tmp_path: Path) -> Path:
    """A folder nobody (here) may write into."""
    if os.geteuid() != 0:
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    # root writes through file permissions; sysfs refuses new files even to root
    probe = Path("/sys/facepop-probe")
    try:
        probe.write_bytes(b"")
    except OSError:
        return Path("/sys")
    probe.unlink()
    pytest.skip("no folder here refuses writes")


def test_a_read_only_output_folder_is_refused(tmp_path) -> None:
    folder = read_only_folder(tmp_path)
    with pytest.raises(OutputFolderError, match=r"can't write there \(.*denied"):
        OutputFolder(folder).prepare()


def test_results_that_exist_are_done_unless_overwriting(tmp_path) -> None:
    image = InputImage(Path("x.jpg"), "x.jpg", PurePath("sub/x"))
    folder = OutputFolder(tmp_path)
    assert folder.target(image) == tmp_path / "sub" / "x.png"
    assert not folder.is_done(image)
    _touch(tmp_path, "sub/x.png")
    assert folder.is_done(image) and not OutputFolder(tmp_path, overwrite=True).is_done(image)


# --- runs sharing the output folder ----------------------------------------------------------

def test_an_image_one_run_holds_is_left_to_it_until_it_lets_go(tmp_path) -> None:
    with SharedFolder(tmp_path) as first, SharedFolder(tmp_path) as second:
        assert first.open().others == ()
        assert second.open().others == (first.me,)  # the first run is live
        assert first.claim(PurePath("sub/a")) is None
        assert second.claim(PurePath("sub/a")) == first.me
        assert second.claim(PurePath("b")) is None and first.claim(PurePath("b")) == second.me
        first.release(PurePath("sub/a"))
        assert second.claim(PurePath("sub/a")) is None
    assert list(tmp_path.iterdir()) == []  # both gone: nothing of them is left


def test_a_claim_whose_holder_let_go_without_cleaning_up_is_taken_over(tmp_path) -> None:
    """What kill -9 leaves: the claim and run files, no lock on them."""
    gone = SharedFolder(tmp_path)
    gone.open()
    assert gone.claim(PurePath("a")) is None
    for _, fd in gone._held.values():
        os.close(fd)  # the process died: its locks went with it, its files stayed
    os.close(gone._run_fd)
    with SharedFolder(tmp_path) as next_run:
        assert next_run.open().others == ()
        assert next_run.claim(PurePath("a")) is None
        assert [p.name for p in (tmp_path / ".facepop-runs").glob("*.run")] == [
            next_run._run_file.name]


def test_a_claim_whose_holder_died_during_this_run_is_taken_over(tmp_path) -> None:
    with SharedFolder(tmp_path) as this_run:
        other = SharedFolder(tmp_path)
        other.me = RunInfo("elsewhere", 4242)  # another machine's run
        other.open()
        this_run.open()
        assert other.claim(PurePath("a")) is None
        assert this_run.claim(PurePath("a")) == other.me
        for _, fd in other._held.values():
            os.close(fd)  # the other run is killed: its claim stays, unlocked
        assert this_run.claim(PurePath("a")) is None
        claim = tmp_path / ".facepop-runs" / "claims" / "a.png.claim"
        assert json.loads(claim.read_text())["pid"] == os.getpid()
        os.close(other._run_fd)


# --- work queue -----------------------------------------------------------------------------

def test_an_item_a_server_failed_goes_to_another_then_fails_for_good() -> None:
    failed: list[tuple[str, str]] = []
    queue: WorkQueue[str] = WorkQueue(["a", "b", "c"], lambda i, r: failed.append((i, r)),
                                      capacity=10, max_tries=2)
    queue.put("img")
    queue.close()
    assert queue.take("a") == "img"
    assert queue.give_back("img", "a", "HTTP 500") is True
    assert queue.take("b") == "img"
    assert queue.give_back("img", "b", "timeout") is False
    assert failed == [("img", "failed on 2 servers; last: timeout")]
    assert queue.take("c") is None


def test_a_server_that_failed_an_item_and_asks_for_more_gets_another_item() -> None:
    queue: WorkQueue[str] = WorkQueue(["a", "b"], lambda i, r: None, capacity=10)
    queue.put("1")
    queue.put("2")
    assert queue.take("a") == "1"
    assert queue.give_back("1", "a", "HTTP 500") is True  # back at the front of the queue
    assert queue.take("a") == "2"  # not "1" again: a failed it
    assert queue.take("b") == "1"


def test_a_dropped_server_leaves_its_items_to_the_others_and_the_last_fails_them() -> None:
    failed: list[tuple[str, str]] = []
    queue: WorkQueue[str] = WorkQueue(["a", "b"], lambda i, r: failed.append((i, r)),
                                      capacity=10)
    for item in ("1", "2", "3"):
        queue.put(item)
    assert queue.take("a") == "1"
    queue.give_back("1", "a", "refused")
    queue.drop("a", "a is gone")
    assert failed == []
    assert queue.take("b") == "1"
    queue.drop("b", "b is gone too")
    assert sorted(item for item, _ in failed) == ["2", "3"]
    assert all(reason == "no WebUI server left (last: b is gone too)" for _, reason in failed)
    assert queue.put("4") is False and not queue.has_workers


def test_a_server_waits_while_an_item_it_failed_may_come_back() -> None:
    queue: WorkQueue[str] = WorkQueue(["a", "b"], lambda i, r: None, capacity=10)
    queue.put("x")
    queue.close()
    assert queue.take("b") == "x"
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(queue.take("a")))
    waiter.start()
    waiter.join(0.2)
    assert waiter.is_alive()  # b may still give x back
    queue.give_back("x", "b", "HTTP 502")
    waiter.join(5)
    assert got == ["x"]


def test_put_waits_while_the_queue_is_full() -> None:
    queue: WorkQueue[int] = WorkQueue(["a"], lambda i, r: None, capacity=1)
    queue.put(1)
    putter = threading.Thread(target=queue.put, args=(2,))
    putter.start()
    putter.join(0.2)
    assert putter.is_alive()
    assert queue.take("a") == 1
    queue.done(1)
    putter.join(5)
    assert not putter.is_alive() and queue.take("a") == 2


# --- progress -------------------------------------------------------------------------------

def test_plain_lines_every_interval_and_a_summary() -> None:
    stream = io.StringIO()
    now = [0.0]
    progress = Progress(4, stream, bar=False, interval=10.0, clock=lambda: now[0])
    progress.done("a.png", 2, "http://s1")
    now[0] = 11.0
    progress.skipped("b.png")
    progress.note("c.png", "is 16 bits per channel")
    progress.note("d.png", "is 16 bits per channel")
    progress.failed("c.png", "HTTP 422 steps: value is not a valid integer")
    now[0] = 75.0
    progress.done("d.png", 1)
    tally = progress.close()
    lines = stream.getvalue().splitlines()
    assert lines == [
        "facepop: 2/4 images: 1 done, 1 skipped, 0 failed, 11.0 s; last: b.png skipped",
        "facepop: c.png: is 16 bits per channel (said once; the summary counts them)",
        "facepop: c.png: failed: HTTP 422 steps: value is not a valid integer",
        "facepop: finished 4 of 4 images in 1m15s: 2 done (3 faces processed), 1 skipped, "
        "1 failed",
        "facepop:   skipped: 1 whose result exists (--overwrite makes them again)",
        "facepop:   failed: c.png: HTTP 422 steps: value is not a valid integer",
        "facepop:   note: 2 image(s) is 16 bits per channel: c.png, d.png",
    ]
    assert (tally.done, tally.skipped, tally.faces, len(tally.failures)) == (2, 1, 3, 1)


def test_a_terminal_gets_a_bar_with_counts_and_the_server() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = Progress(2, stream, interval=0.0)
    progress.done("a.png", 1, "http://gpu1:7860")
    progress.failed("b.png", "no WebUI server left")
    progress.close()
    text = stream.getvalue()
    assert "done 1, failed 0, last: a.png on http://gpu1:7860" in text
    assert "facepop: b.png: failed: no WebUI server left" in text
    assert "1/2" in text
