"""What a batch says while it runs, and its summary.

On a terminal: a progress bar with the done and failed counts and which server did the
last image; other lines (failures, notes) print above it. Elsewhere (a log file, CI): a
plain line every ``interval`` seconds. Every line starts with ``facepop:``; all of it goes
to stderr, so stdout stays free for what a command prints as its result.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

PREFIX = "facepop:"
FAILURES_LISTED = 20
DEFAULT_INTERVAL = 30.0


@dataclass
class Tally:
    total: int
    done: int = 0
    skipped: int = 0
    faces: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)
    """Note text -> the images it concerns."""
    left_to: dict[str, int] = field(default_factory=dict)
    """Another run writing into the same folder -> the skipped images it was doing."""
    retried: dict[str, list[str]] = field(default_factory=dict)
    """Why images were given another try (a cluster's node died) -> the images."""

    @property
    def retried_images(self) -> int:
        return len({name for names in self.retried.values() for name in names})

    @property
    def finished(self) -> int:
        return self.done + self.skipped + len(self.failures)


class Progress:
    """Thread-safe: server workers report from their own threads."""

    def __init__(self, total: int, stream: TextIO, *, bar: bool | None = None,
                 interval: float = DEFAULT_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.tally = Tally(total)
        self.stream = stream
        self.interval = interval
        self.clock = clock
        self.started = clock()
        self._last_line = self.started
        self._lock = threading.Lock()
        self._closed = False
        use_bar = bar if bar is not None else _is_terminal(stream)
        self._bar = _make_bar(total, stream) if use_bar and total > 0 else None

    # --- events -------------------------------------------------------------------------
    def done(self, name: str, faces: int, server: str | None = None) -> None:
        with self._lock:
            self.tally.done += 1
            self.tally.faces += faces
            where = f" on {server}" if server else ""
            self._advance(f"{name}{where}")

    def skipped(self, name: str, left_to: str | None = None) -> None:
        """``name`` is skipped: its result exists, or (``left_to``) another run is doing
        it."""
        with self._lock:
            self.tally.skipped += 1
            if left_to is not None:
                self.tally.left_to[left_to] = self.tally.left_to.get(left_to, 0) + 1
            self._advance(f"{name} skipped")

    def failed(self, name: str, reason: str) -> None:
        with self._lock:
            self.tally.failures.append((name, reason))
            self._write(f"{PREFIX} {name}: failed: {reason}")
            self._advance(f"{name} failed")

    def note(self, name: str, text: str) -> None:
        """Something done to an input its owner should know; said once per kind of note,
        counted in the summary."""
        with self._lock:
            images = self.tally.notes.setdefault(text, [])
            images.append(name)
            if len(images) == 1:
                self._write(f"{PREFIX} {name}: {text} (said once; the summary counts them)")

    def retried(self, name: str, why: str) -> None:
        """An image goes to another try (another node, another worker): counted in the
        summary, by why."""
        with self._lock:
            self.tally.retried.setdefault(why, []).append(name)

    def say(self, line: str) -> None:
        with self._lock:
            self._write(f"{PREFIX} {line}")

    # --- the end ------------------------------------------------------------------------
    def close(self, interrupted: bool = False) -> Tally:
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
            for line in summary_lines(self.tally, self.clock() - self.started, interrupted):
                print(line, file=self.stream, flush=True)
            self._closed = True
            return self.tally

    # --- helpers ------------------------------------------------------------------------
    def _advance(self, last: str) -> None:
        if self._closed:
            return
        tally = self.tally
        if self._bar is not None:
            self._bar.set_postfix_str(f"done {tally.done}, failed {len(tally.failures)}, "
                                      f"last: {last}", refresh=False)
            self._bar.update(1)
            return
        now = self.clock()
        if now - self._last_line >= self.interval and tally.finished < tally.total:
            self._last_line = now
            self._write(f"{PREFIX} {tally.finished}/{tally.total} images: {tally.done} done, "
                        f"{tally.skipped} skipped, {len(tally.failures)} failed, "
                        f"{_duration(now - self.started)}; last: {last}")

    def _write(self, line: str) -> None:
        if self._closed:  # a server's late word after an interrupt
            return
        if self._bar is not None:
            self._bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)


class ProgressLog(logging.LoggerAdapter):
    """A logger whose records (at its level or above) become progress lines, each naming
    ``where`` they come from (a server's URL) if given: the pipeline's notices (a tool not
    available, or failing) in a batch, said like the batch's own lines and above its bar."""

    def __init__(self, logger: logging.Logger, progress: Progress, where: str = "") -> None:
        super().__init__(logger, {})
        self.progress = progress
        self.where = where

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        text = str(msg) % args if args else str(msg)
        text = text.removeprefix("FacePop: ")
        self.progress.say(f"{self.where}: {text}" if self.where else text)


def summary_lines(tally: Tally, seconds: float, interrupted: bool = False) -> list[str]:
    """The end of a run: counts, time, every failure with its reason, and the notes."""
    head = "interrupted after" if interrupted else "finished"
    lines = [f"{PREFIX} {head} {tally.finished} of {tally.total} images in "
             f"{_duration(seconds)}: {tally.done} done ({tally.faces} faces processed), "
             f"{tally.skipped} skipped, {len(tally.failures)} failed"
             + (f", {tally.retried_images} retried" if tally.retried else "")]
    left = sum(tally.left_to.values())
    if tally.skipped - left:
        lines.append(f"{PREFIX}   skipped: {tally.skipped - left} whose result exists "
                     f"(--overwrite makes them again)")
    if left:
        runs = ", ".join(f"{n} by {run}" for run, n in tally.left_to.items())
        lines.append(f"{PREFIX}   skipped: {left} being done by another run writing into "
                     f"the same folder ({runs})")
    for name, reason in tally.failures[:FAILURES_LISTED]:
        lines.append(f"{PREFIX}   failed: {name}: {reason}")
    if len(tally.failures) > FAILURES_LISTED:
        lines.append(f"{PREFIX}   ... and {len(tally.failures) - FAILURES_LISTED} more "
                     f"failures (each was reported above)")
    for why, names in tally.retried.items():
        lines.append(_images_line("retried", why, list(dict.fromkeys(names))))
    for text, names in tally.notes.items():
        lines.append(_images_line("note", text, names))
    return lines


def failure_reason(exc: BaseException, name: str) -> str:
    """An exception as a failure reason, without the image name its message may start
    with (image errors name their file)."""
    text = str(exc) or type(exc).__name__
    prefix = f"{name}: "
    return text[len(prefix):] if text.startswith(prefix) else text


def _images_line(kind: str, text: str, names: Sequence[str]) -> str:
    """A summary line about some images: how many, what, and the first few names."""
    return (f"{PREFIX}   {kind}: {len(names)} image(s) {text}: "
            f"{', '.join(names[:5])}{' ...' if len(names) > 5 else ''}")


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{rest:02d}s" if hours else f"{minutes}m{rest:02d}s"


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _make_bar(total: int, stream: TextIO) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc="facepop", unit="image", file=stream, leave=False,
                dynamic_ncols=True)
