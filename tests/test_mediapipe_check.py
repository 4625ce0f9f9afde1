"""The installer's MediaPipe check: a real FacePop check in a new Python, and what it says
when MediaPipe is broken, crashes, hangs, or something else stops the check."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lib_facepop.mediapipe_check import CheckOutcome, run_check


def _shadow(tmp_path: Path, monkeypatch, package: str, code: str) -> None:
    """A package of that name, found before the installed one by every new Python."""
    folder = tmp_path / "shadow" / package
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text(textwrap.dedent(code))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "shadow"))


def test_the_check_passes_with_the_installed_mediapipe():
    result = run_check()
    assert result.outcome is CheckOutcome.PASSED
    assert result.message.startswith("MediaPipe 0.10.11 with protobuf 3.20")
    assert "face detection, face mesh, face landmarks and selfie segmentation work" in (
        result.message)


def test_a_mediapipe_that_cant_be_imported_fails_the_check(tmp_path, monkeypatch):
    _shadow(tmp_path, monkeypatch, "mediapipe", """
        raise ImportError("DLL load failed while importing _framework_bindings")
    """)
    result = run_check()
    assert result.outcome is CheckOutcome.FAILED
    assert result.message.startswith(
        "MediaPipe 0.10.11 with protobuf 3.20.3 can't be imported (ImportError: DLL load failed "
        "while importing _framework_bindings): this looks like a broken MediaPipe installation.")
    assert "pip install --no-deps mediapipe==0.10.14" in result.message


@pytest.mark.parametrize("code", ["import os\nos.abort()\n",
                                  "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n"])
def test_a_mediapipe_that_crashes_fails_the_check(tmp_path, monkeypatch, code):
    _shadow(tmp_path, monkeypatch, "mediapipe", code)
    result = run_check()
    assert result.outcome is CheckOutcome.FAILED
    assert result.message.startswith("MediaPipe crashed (exit code -")


def test_a_check_that_hangs_cant_tell(tmp_path, monkeypatch):
    _shadow(tmp_path, monkeypatch, "mediapipe", "import time\ntime.sleep(60)\n")
    result = run_check(timeout_s=2)
    assert result.outcome is CheckOutcome.UNKNOWN
    assert result.message == "FacePop's MediaPipe check took longer than 2 s"


def test_a_check_stopped_by_something_other_than_mediapipe_cant_tell(tmp_path, monkeypatch):
    _shadow(tmp_path, monkeypatch, "numpy", """
        raise ImportError("numpy.core.multiarray failed to import")
    """)
    result = run_check()
    assert result.outcome is CheckOutcome.UNKNOWN
    assert result.message == ("FacePop's MediaPipe check can't start: ImportError: "
                              "numpy.core.multiarray failed to import")
