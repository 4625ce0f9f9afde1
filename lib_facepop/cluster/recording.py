"""What a task on a node keeps for the driver: the progress events and log records of its
image, and the files it wrote (in a folder of its own, read back as bytes).

A task writes its image's files as a run on one machine does (``batch.runner``), into a
fresh folder under ``<temp>/facepop-tasks``; the driver writes them again under ``--out``.
A folder left behind by a worker that was killed is removed by the next task on the node.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lib_facepop.batch.progress import Progress, Tally
from lib_facepop.images import write_atomically

TASKS_FOLDER = "facepop-tasks"
MODELS_FOLDER = "facepop-models"
LOGGERS = ("lib_facepop", "modnet")
"""The loggers whose records a task sends back (FacePop's own, and MODNet's)."""


@dataclass(frozen=True)
class LogRecord:
    logger: str
    level: int
    message: str


@dataclass
class Events:
    """What the driver says for an image, in the order it happened."""

    notes: list[tuple[str, str]] = field(default_factory=list)
    """(image, note text)."""
    lines: list[str] = field(default_factory=list)
    """Progress lines (a server's notices), without the ``facepop:`` prefix."""
    logs: list[LogRecord] = field(default_factory=list)


class RecordingProgress(Progress):
    """A ``Progress`` that keeps the notes and lines of one task's image for the driver;
    the counts are the driver's."""

    def __init__(self, events: Events) -> None:
        super().__init__(0, io.StringIO(), bar=False)
        self.events = events

    def note(self, name: str, text: str) -> None:
        self.events.notes.append((name, text))

    def say(self, line: str) -> None:
        self.events.lines.append(line)

    def done(self, name: str, faces: int, server: str | None = None) -> None:
        pass

    def skipped(self, name: str) -> None:
        pass

    def failed(self, name: str, reason: str) -> None:
        pass

    def close(self, interrupted: bool = False) -> Tally:
        return self.tally


class _Keeper(logging.Handler):
    def __init__(self, events: Events, level: int) -> None:
        super().__init__(level)
        self.events = events

    def emit(self, record: logging.LogRecord) -> None:
        self.events.logs.append(LogRecord(record.name, record.levelno, record.getMessage()))


@contextlib.contextmanager
def kept_logs(events: Events, level: int) -> Iterator[None]:
    """FacePop's log records at ``level`` (the driver's) and above go into ``events``
    while the task runs."""
    keeper = _Keeper(events, level)
    loggers = [logging.getLogger(name) for name in LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(keeper)
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, before in zip(loggers, levels, strict=True):
            logger.removeHandler(keeper)
            logger.setLevel(before)


@contextlib.contextmanager
def task_folder() -> Iterator[Path]:
    """A folder of this task's own (removed afterwards), beside those of other tasks on
    this node; folders of workers that are gone are removed first."""
    root = Path(tempfile.gettempdir()) / TASKS_FOLDER
    root.mkdir(parents=True, exist_ok=True)
    _remove_orphans(root)
    folder = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=root))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _remove_orphans(root: Path) -> None:
    for folder in root.iterdir():
        pid = folder.name.split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def written_files(folder: Path, last: Path) -> list[tuple[str, bytes]]:
    """Every file under ``folder`` as (path below it, bytes), ``last`` (the result) last:
    a result on disk means the image is done, so the driver writes it after the rest."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p != last)
    if last.is_file():
        files.append(last)
    return [(p.relative_to(folder).as_posix(), p.read_bytes()) for p in files]


def model_copy(name: str, digest: str, data: bytes) -> Path:
    """The driver's model file (``digest``: its SHA-256) on this node: written once per
    content, under the node's temporary folder, and reused by every later task."""
    path = Path(tempfile.gettempdir()) / MODELS_FOLDER / digest / Path(name).name
    if not path.is_file():
        write_atomically(path, lambda stream: stream.write(data))
    return path

