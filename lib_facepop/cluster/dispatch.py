"""Which image goes to which server next, and what a failure means for both: the rules of
a run on one machine (``batch.work_queue``, ``batch.servers``) over a cluster's servers.

A ``Slot`` is one server as the driver hands out images: a node's own server (its tasks
run on that node only) or a server given with ``--server`` (its tasks run on any node), or,
in a run without servers, the cluster's CPUs. Each takes up to ``capacity`` images at once.
An image a server failed goes to another (it fails for good once it has failed on
``max_tries`` servers or on every server left); a server failing ``drop_after`` images in a
row, or refusing everything, is dropped. An image whose worker or node died is tried again
(another node, where its node is gone) and counted as retried; one whose worker keeps dying
fails after ``max_lost`` tries.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from lib_facepop.api_client.extras import ServerOffer
from lib_facepop.batch.inputs import InputImage
from lib_facepop.batch.progress import Progress
from lib_facepop.batch.servers import DROP_AFTER
from lib_facepop.batch.work_queue import DEFAULT_MAX_TRIES

MAX_LOST = 3
"""Tries of one image whose worker died, before it fails."""
ON_ANOTHER_SERVER = "on another server after theirs failed"
NODE_GONE = "after the node working on them left the cluster"
WORKER_GONE = "after the worker process working on them died"


@dataclass
class Slot:
    key: str
    """Unique in the run."""
    label: str
    """How messages name it: the URL, or the node and the URL it has there."""
    url: str | None
    """The server's URL as seen from where its tasks run; None: no server."""
    node_id: str | None = None
    """The node its tasks must run on; None: any node."""
    capacity: int = 1
    offer: ServerOffer | None = None
    where: dict[str, str] = field(default_factory=dict)
    """What run.json adds to the server's record (its node)."""
    busy: int = 0
    failed_in_a_row: int = 0
    alive: bool = True

    @property
    def free(self) -> bool:
        return self.alive and self.busy < self.capacity


@dataclass
class Entry:
    image: InputImage
    failed_on: set[str] = field(default_factory=set)
    last_error: str = ""
    lost: int = 0

    @property
    def name(self) -> str:
        return self.image.shown


class Dispatch:
    def __init__(self, slots: list[Slot], progress: Progress, *,
                 max_tries: int = DEFAULT_MAX_TRIES, drop_after: int = DROP_AFTER,
                 max_lost: int = MAX_LOST,
                 ended: Callable[[Entry], None] | None = None) -> None:
        """``ended(entry)`` is called for every image that fails here for good."""
        self.slots = slots
        self.progress = progress
        self.ended = ended
        self.max_tries = max(1, max_tries)
        self.drop_after = drop_after
        self.max_lost = max_lost
        self.waiting: deque[Entry] = deque()
        """Images given back, to go before new ones."""
        self._last_drop = ""

    # --- handing out --------------------------------------------------------------------
    @property
    def has_slots(self) -> bool:
        return any(slot.alive for slot in self.slots)

    @property
    def in_flight_limit(self) -> int:
        return sum(slot.capacity for slot in self.slots if slot.alive)

    def no_slot_reason(self) -> str:
        last = f" (last: {self._last_drop})" if self._last_drop else ""
        return f"no WebUI server left{last}"

    def slot_for(self, entry: Entry) -> Slot | None:
        """The free server (least busy for its size) that has not failed the image."""
        free = [s for s in self.slots if s.free and s.key not in entry.failed_on]
        return min(free, key=lambda s: s.busy / s.capacity) if free else None

    def next_waiting(self) -> tuple[Entry, Slot] | None:
        """A given-back image and a free server for it, if there is such a pair."""
        for entry in self.waiting:
            slot = self.slot_for(entry)
            if slot is not None:
                self.waiting.remove(entry)
                return entry, slot
        return None

    # --- what came back -----------------------------------------------------------------
    def succeeded(self, slot: Slot) -> None:
        slot.failed_in_a_row = 0

    def image_failed(self, entry: Entry, slot: Slot, reason: str,
                     request_refused: bool) -> None:
        """The image's own failure (a request the server refused: the server is fine)."""
        if request_refused:
            slot.failed_in_a_row = 0
        self.fail(entry, reason)

    def server_failed(self, entry: Entry, slot: Slot, reason: str,
                      refuses_all: bool = False) -> None:
        """``slot``'s server failed the image: another server takes it, or it fails; the
        server is dropped when it refuses everything or failed too many in a row."""
        entry.failed_on.add(slot.key)
        entry.last_error = f"{slot.label}: {reason}"
        if self._exhausted(entry):
            self.fail(entry, self._final_reason(entry))
        else:
            self.waiting.appendleft(entry)
            self.progress.say(f"{entry.name}: {entry.last_error}; another server will do it")
            self.progress.retried(entry.name, ON_ANOTHER_SERVER)
        if refuses_all:
            self.drop(slot, f"{slot.label}: {reason} (it refuses every request)")
            return
        slot.failed_in_a_row += 1
        if slot.failed_in_a_row >= self.drop_after:
            self.drop(slot, f"{slot.label}: {reason} ({slot.failed_in_a_row} images failed "
                            f"in a row)")

    def lost(self, entry: Entry, slot: Slot, node_gone: bool, detail: str) -> None:
        """The image's worker (or its whole node) died: it is tried again."""
        if node_gone and slot.node_id is not None:
            self.drop(slot, f"{slot.label}: its node left the cluster")
        entry.lost += 1
        why = NODE_GONE if node_gone else WORKER_GONE
        if entry.lost >= self.max_lost:
            self.fail(entry, f"its worker died {entry.lost} times (last: {detail})")
            return
        if not self.has_slots:
            self.fail(entry, self.no_slot_reason())
            return
        self.waiting.appendleft(entry)
        self.progress.say(f"{entry.name}: {'its node' if node_gone else 'its worker'} died "
                          f"on {slot.label}; it is tried again")
        self.progress.retried(entry.name, why)

    def drop(self, slot: Slot, reason: str) -> None:
        """``slot`` takes no more images; images only it could still have done fail."""
        if not slot.alive:
            return
        slot.alive = False
        self._last_drop = reason
        self.progress.say(f"dropping server {reason}")
        keep: deque[Entry] = deque()
        for entry in self.waiting:
            if not self.has_slots:
                self.fail(entry, self.no_slot_reason())
            elif self._exhausted(entry):
                self.fail(entry, self._final_reason(entry))
            else:
                keep.append(entry)
        self.waiting = keep

    def fail(self, entry: Entry, reason: str) -> None:
        """The image fails for good."""
        self.progress.failed(entry.name, reason)
        if self.ended is not None:
            self.ended(entry)

    def fail_stranded(self) -> None:
        """Images given back that no server can take any more (nothing is in flight that
        could free one) fail with what they failed with last."""
        while self.waiting:
            entry = self.waiting.popleft()
            self.fail(entry, self._final_reason(entry) if entry.last_error
                      else self.no_slot_reason())

    # --- helpers ------------------------------------------------------------------------
    def _exhausted(self, entry: Entry) -> bool:
        untried = [s for s in self.slots if s.alive and s.key not in entry.failed_on]
        return not untried or len(entry.failed_on) >= self.max_tries

    def _final_reason(self, entry: Entry) -> str:
        tries = len(entry.failed_on)
        where = "on 1 server" if tries == 1 else f"on {tries} servers"
        return f"failed {where}; last: {entry.last_error}"
