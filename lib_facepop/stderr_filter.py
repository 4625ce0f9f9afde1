"""Keeping the command line's stderr for FacePop's own words.

Native libraries write start-up notices straight to file descriptor 2 (TensorFlow Lite,
inside MediaPipe: "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."), once per
process and at a moment FacePop does not choose (a graph may open its model on one of its
own threads). For the length of a command, file descriptor 2 goes through a pipe; a thread
passes everything on as it comes, except lines that start like one of the notices.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator, Sequence

NATIVE_NOTICES = ("INFO: Created TensorFlow Lite XNNPACK delegate",)
_CHUNK = 65536


@contextlib.contextmanager
def stderr_without(notices: Sequence[str] = NATIVE_NOTICES) -> Iterator[None]:
    """Drop lines starting with any of ``notices`` from everything written to fd 2."""
    try:
        sys.stderr.flush()
        original = os.dup(2)
    except (OSError, ValueError):  # no usable stderr: nothing to keep clean
        yield
        return
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    forwarder = threading.Thread(target=_forward, args=(read_end, original, tuple(notices)),
                                 name="facepop-stderr", daemon=True)
    forwarder.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(original, 2)  # the pipe's last write end goes: the forwarder reads its end
        forwarder.join(timeout=10)
        os.close(original)


def _forward(read_end: int, target: int, notices: tuple[str, ...]) -> None:
    pending = ""
    with os.fdopen(read_end, "rb", buffering=0) as source:
        while chunk := source.read(_CHUNK):
            pending = _pass_on(pending + chunk.decode("utf-8", "replace"), target, notices)
    if pending:
        os.write(target, pending.encode("utf-8"))


def _pass_on(text: str, target: int, notices: tuple[str, ...]) -> str:
    """Write what is sure not to be a notice; return what must wait for more text."""
    out = []
    while True:
        ends = [i for i in (text.find("\n"), text.find("\r")) if i >= 0]
        if not ends:
            break
        cut = min(ends) + 1
        piece, text = text[:cut], text[cut:]
        if not piece.lstrip("\r").startswith(notices):
            out.append(piece)
    if text and not any(notice.startswith(text) for notice in notices):
        out.append(text)  # a line in progress (a progress bar): show it now
        text = ""
    if out:
        os.write(target, "".join(out).encode("utf-8"))
    return text
