"""Images handed out to several servers as a work queue.

Each server takes the next image when it is free, so a slow server takes fewer. An image
a server failed goes back for the others; it fails for good once it has failed on
``max_tries`` servers or on every server left. A server that is dropped takes no more
images; when none is left, every image still waiting fails.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Item = TypeVar("Item")

DEFAULT_MAX_TRIES = 2


@dataclass
class _Entry(Generic[Item]):
    item: Item
    failed_on: set[Hashable] = field(default_factory=set)
    last_error: str = ""


class WorkQueue(Generic[Item]):
    """A bounded queue of items for a set of workers (one per server).

    ``on_failed(item, reason)`` is called (outside the lock) for every item that fails for
    good: tried everywhere it could be, or left without a server.
    """

    def __init__(self, workers: list[Hashable], on_failed: Callable[[Item, str], None], *,
                 capacity: int = 4, max_tries: int = DEFAULT_MAX_TRIES) -> None:
        self._alive = list(workers)
        self._on_failed = on_failed
        self._capacity = max(1, capacity)
        self._max_tries = max(1, max_tries)
        self._pending: list[_Entry[Item]] = []
        self._in_flight: dict[int, _Entry[Item]] = {}
        self._closed = False
        self._last_drop_reason = ""
        self._changed = threading.Condition()

    @property
    def has_workers(self) -> bool:
        with self._changed:
            return bool(self._alive)

    def no_worker_reason(self) -> str:
        with self._changed:
            return self._no_worker_reason()

    def put(self, item: Item) -> bool:
        """Queue an item, waiting while the queue is full; False when no worker is left
        to take it (the caller decides what that means for the item)."""
        with self._changed:
            while self._alive and len(self._pending) + len(self._in_flight) >= self._capacity:
                self._changed.wait()
            if not self._alive:
                return False
            self._pending.append(_Entry(item))
            self._changed.notify_all()
            return True

    def close(self) -> None:
        """No more items will be put."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def take(self, worker: Hashable) -> Item | None:
        """The next item ``worker`` has not failed; None when there is no more work for it."""
        with self._changed:
            while worker in self._alive:
                for entry in self._pending:
                    if worker not in entry.failed_on:
                        self._pending.remove(entry)
                        self._in_flight[id(entry.item)] = entry
                        return entry.item
                if self._closed and not self._in_flight and not self._pending:
                    return None
                self._changed.wait()
            return None

    def done(self, item: Item) -> None:
        """The item is finished (done or failed by its worker for good)."""
        with self._changed:
            self._in_flight.pop(id(item), None)
            self._changed.notify_all()

    def give_back(self, item: Item, worker: Hashable, reason: str) -> bool:
        """``worker`` failed the item: it goes to another server (True), or fails for good
        (False)."""
        failed: list[tuple[Item, str]] = []
        with self._changed:
            entry = self._in_flight.pop(id(item))
            entry.failed_on.add(worker)
            entry.last_error = reason
            if self._exhausted(entry):
                failed.append((item, self._final_reason(entry)))
            else:
                self._pending.insert(0, entry)
            self._changed.notify_all()
        self._report(failed)
        return not failed

    def drop(self, worker: Hashable, reason: str) -> None:
        """``worker`` takes no more items; items only it could still have done fail."""
        with self._changed:
            if worker in self._alive:
                self._alive.remove(worker)
            self._last_drop_reason = reason
            failed = [(e.item, self._final_reason(e)) for e in self._pending
                      if self._exhausted(e)]
            if not self._alive:
                failed = [(e.item, self._final_reason(e)) for e in self._pending]
            gone = {id(item) for item, _ in failed}
            self._pending = [e for e in self._pending if id(e.item) not in gone]
            self._changed.notify_all()
        self._report(failed)

    # --- helpers ------------------------------------------------------------------------
    def _exhausted(self, entry: _Entry[Item]) -> bool:
        untried = [w for w in self._alive if w not in entry.failed_on]
        return not untried or len(entry.failed_on) >= self._max_tries

    def _final_reason(self, entry: _Entry[Item]) -> str:
        if not self._alive and not entry.last_error:
            return self._no_worker_reason()
        tries = len(entry.failed_on)
        where = "on 1 server" if tries == 1 else f"on {tries} servers"
        return f"failed {where}; last: {entry.last_error}"

    def _no_worker_reason(self) -> str:
        last = f" (last: {self._last_drop_reason})" if self._last_drop_reason else ""
        return f"no WebUI server left{last}"

    def _report(self, failed: list[tuple[Item, str]]) -> None:
        for item, reason in failed:
            self._on_failed(item, reason)
