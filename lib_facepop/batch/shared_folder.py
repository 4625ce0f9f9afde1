"""Runs that share one output folder: two runs into the same ``--out`` (two GPU machines on
one NAS folder, or a second run started by mistake) divide its images instead of both
doing every one (docs/design.md section 3.1).

Each run holds a run file in ``<out>/.facepop-runs/``, locked for as long as it runs, and
claims each image before working on it: a claim file there, locked until the image is done
or failed. The locks are the operating system's (``flock``; on Windows ``msvcrt.locking``),
which it lets go of when a process ends, ``kill -9`` included, and which NFS and SMB carry
between machines: a file whose lock can be taken belongs to a run that stopped. An image
claimed by a live run is left to it; a stopped run's claim is taken over. Nobody removes a
file without holding its lock, and a claim is only ours while the file we locked is still
the one under its name.

At the start a run removes what stopped runs left: their run and claim files, and the
partial files of writes they broke off (``.NAME.XXXXXXXX.facepop-partial``, see
``images.write_atomically``) that are older than every live run, ours included (a live
run's partial files are all younger than the run).

Where the file system has no locks, or a stopped run's claim can be neither opened nor
removed (another user's), a run goes on without sharing rather than lose work: at worst
an image is done twice.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import platform
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath

from lib_facepop.images import PARTIAL_SUFFIX

try:  # POSIX
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt

RUNS_FOLDER = ".facepop-runs"
CLAIMS_FOLDER = "claims"
RUN_SUFFIX = ".run"
STARTING_SUFFIX = ".starting"
CLAIM_SUFFIX = ".claim"
_PARTIAL_NAME = re.compile(r"\..+\.[0-9a-f]{8}" + re.escape(PARTIAL_SUFFIX))
_HELD = (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES, getattr(errno, "EDEADLOCK", -1))
_BINARY = getattr(os, "O_BINARY", 0)
_TRIES = 5


class LocksUnsupportedError(OSError):
    """The file system has no file locks."""


@dataclass(frozen=True)
class RunInfo:
    """Which run holds a folder or an image (pid 0: not known yet)."""

    host: str
    pid: int

    def describe(self) -> str:
        return f"PID {self.pid} on {self.host}" if self.pid else "another run"


UNKNOWN_RUN = RunInfo("", 0)


@dataclass(frozen=True)
class OpenedFolder:
    """What a run found when it joined the folder."""

    others: tuple[RunInfo, ...]
    """The other live runs writing into it."""
    partials_removed: int
    """Partial files of stopped runs, removed."""


class SharedFolder:
    """This run's presence in an output folder and its claims on images (thread-safe: the
    batch claims, server workers let go)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.runs = self.root / RUNS_FOLDER
        self.claims = self.runs / CLAIMS_FOLDER
        self.me = RunInfo(platform.node() or "this machine", os.getpid())
        self.sharing = False
        """Whether claims are made (False before ``open`` and where locks don't work)."""
        self._run_file: Path | None = None
        self._run_fd: int | None = None
        self._held: dict[PurePath, tuple[Path, int]] = {}
        self._lock = threading.Lock()

    # --- the run ------------------------------------------------------------------------
    def open(self) -> OpenedFolder:
        """Join the folder: hold a run file, remove what stopped runs left. OSError
        (LocksUnsupportedError where the file system has no locks) when the folder can't
        be shared; the run may go on without sharing it."""
        self._run_file, self._run_fd = self._new_run_file()
        self.sharing = True
        started = os.stat(self._run_file).st_mtime
        others: list[RunInfo] = []
        starts = [started]
        for path in sorted(self.runs.glob(f"*{STARTING_SUFFIX}")):
            _owner_or_removed(path)  # a run that was killed while it started
        for path in sorted(self.runs.glob(f"*{RUN_SUFFIX}")):
            if path == self._run_file:
                continue
            other = _owner_or_removed(path)
            if other is not None:
                others.append(other)
                with contextlib.suppress(OSError):
                    starts.append(os.stat(path).st_mtime)
        if self.claims.is_dir():
            for path in sorted(self.claims.rglob(f"*{CLAIM_SUFFIX}")):
                _owner_or_removed(path)
        removed = self._remove_partials(older_than=min(starts))
        return OpenedFolder(tuple(others), removed)

    def close(self) -> None:
        """Leave the folder: every claim let go, the run file removed."""
        with self._lock:
            for path, fd in self._held.values():
                self._let_go(path, fd)
            self._held.clear()
            self.sharing = False
        if self._run_file is not None and self._run_fd is not None:
            _unlink_and_close(self._run_file, self._run_fd)
            self._run_file = self._run_fd = None
        for folder in (self.claims, self.runs):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty: another run may still be here

    def __enter__(self) -> SharedFolder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- images -------------------------------------------------------------------------
    def claim(self, output: PurePath) -> RunInfo | None:
        """Claim the image with this output name for this run: None when this run may do
        it, else the live run that holds it."""
        with self._lock:
            if not self.sharing or output in self._held:
                return None
            path = self.claims / f"{output.as_posix()}.png{CLAIM_SUFFIX}"
            for _ in range(_TRIES):
                try:
                    self._make_folder(path.parent)
                    fd = os.open(path, os.O_RDWR | os.O_CREAT | _BINARY, 0o666)
                except FileNotFoundError:  # its folder was just removed by another run
                    continue
                except PermissionError:  # another user's claim file
                    owner = _owner_or_removed(path)
                    if owner is not None:
                        return owner
                    continue
                try:
                    locked = _try_lock(fd)
                except LocksUnsupportedError:
                    os.close(fd)
                    return None
                if not locked:
                    owner = _read_owner(fd)
                    os.close(fd)
                    return owner or UNKNOWN_RUN
                if not _still_at(fd, path):  # let go of and removed meanwhile
                    os.close(fd)
                    continue
                _write_owner(fd, self.me)
                self._held[output] = (path, fd)
                return None
            return None  # can't tell: better done twice than not at all

    def release(self, output: PurePath) -> None:
        """The image is done or failed: let another run have it."""
        with self._lock:
            held = self._held.pop(output, None)
            if held is not None:
                self._let_go(*held)

    # --- helpers ------------------------------------------------------------------------
    def _let_go(self, path: Path, fd: int) -> None:
        _unlink_and_close(path, fd)
        folder = path.parent
        while folder != self.claims and self.claims in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent

    def _make_folder(self, folder: Path) -> None:
        """``folder`` and those above it up to the output folder, writable for whoever may
        write into the output folder (another user's run on a shared folder too)."""
        missing = [f for f in [folder, *folder.parents] if self.root in f.parents
                   and not f.is_dir()]
        folder.mkdir(parents=True, exist_ok=True)
        mode = self.root.stat().st_mode & 0o7777
        for made in missing:
            with contextlib.suppress(OSError):
                os.chmod(made, mode)

    def _new_run_file(self) -> tuple[Path, int]:
        """A locked run file, written under a name no run looks at, then renamed into
        place (so no run ever sees it unlocked)."""
        name = f"{_safe(self.me.host)}.{self.me.pid}.{secrets.token_hex(4)}"
        final = self.runs / f"{name}{RUN_SUFFIX}"
        # Windows can't rename an open file: there it is made under its own name.
        starting = self.runs / f"{name}{STARTING_SUFFIX}" if fcntl is not None else final
        for _ in range(_TRIES):
            try:
                self._make_folder(self.runs)
                fd = os.open(starting, os.O_RDWR | os.O_CREAT | os.O_EXCL | _BINARY, 0o666)
            except FileNotFoundError:
                continue
            try:
                if not _try_lock(fd):
                    raise OSError(errno.EACCES, "another process holds it", str(starting))
                _write_owner(fd, self.me)
                if starting != final:
                    os.replace(starting, final)
            except OSError:
                _unlink_and_close(starting, fd)
                raise
            return final, fd
        raise OSError(errno.ENOENT, "its folder keeps disappearing", str(self.runs))

    def _remove_partials(self, older_than: float) -> int:
        removed = 0
        for path in _files_below(self.root, skip=self.runs):
            if not _PARTIAL_NAME.fullmatch(path.name):
                continue
            try:
                if os.stat(path).st_mtime < older_than:
                    path.unlink()
                    removed += 1
            except OSError:  # gone already, or not ours to remove
                continue
        return removed


def _owner_or_removed(path: Path) -> RunInfo | None:
    """The live run holding ``path``; None when nobody does, and then the file is removed,
    under our own lock (exclusive, or shared where we may only read it), so that no run
    takes a file being removed for its own."""
    try:
        fd = os.open(path, os.O_RDWR | _BINARY)
        exclusive = True
    except PermissionError:
        try:
            fd = os.open(path, os.O_RDONLY | _BINARY)
        except OSError:
            return None
        exclusive = False
    except OSError:
        return None
    try:
        locked = _try_lock(fd, exclusive)
    except LocksUnsupportedError:
        os.close(fd)
        return None
    if locked:
        _unlink_and_close(path, fd)
        return None
    owner = _read_owner(fd)
    os.close(fd)
    return owner or UNKNOWN_RUN


def _try_lock(fd: int, exclusive: bool = True) -> bool:
    """Take the file's lock without waiting; False when another holds it,
    LocksUnsupportedError when the file system has none."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        else:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError as exc:
        if exc.errno in _HELD:
            return False
        raise LocksUnsupportedError(exc.errno, f"the file system has no file locks: "
                                               f"{exc.strerror}") from None
    return True


def _still_at(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), os.stat(path))
    except OSError:
        return False


def _write_owner(fd: int, run: RunInfo) -> None:
    data = json.dumps({"host": run.host, "pid": run.pid}).encode("utf-8")
    os.lseek(fd, 0, os.SEEK_SET)
    os.ftruncate(fd, 0)
    os.write(fd, data)


def _read_owner(fd: int) -> RunInfo | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        record = json.loads(os.read(fd, 4096).decode("utf-8"))
        return RunInfo(str(record["host"]), int(record["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _unlink_and_close(path: Path, fd: int) -> None:
    """Remove a file this run holds, then let go of it (on Windows, where an open file
    can't be removed, the other way round)."""
    try:
        path.unlink(missing_ok=True)
    except PermissionError:
        os.close(fd)
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        return
    except OSError:
        pass
    os.close(fd)


def _files_below(root: Path, skip: Path) -> Iterator[Path]:
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if Path(folder) / name != skip]
        for name in files:
            yield Path(folder) / name


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)[:40] or "host"
