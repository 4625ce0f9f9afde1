"""Several WebUI servers working through one batch.

Before any work each server is probed (and asked what else the run needs of it, e.g. its
restorers and upscalers): one that refuses (credentials, no API) stops the run, since that
is the user's to fix; one that does not answer, or lacks what the run needs of it (the
extras API), is left out with one line; when every server lacks it, the run stops (a usage
error: no server can do what was asked).
During the run each server has a worker thread that takes images from a ``WorkQueue``. A
failure that is the server's (no answer after the retries, a wrong reply, a refusal of
everything) hands the image to another server; a server that fails ``DROP_AFTER`` images
in a row, or refuses everything, is dropped with one line. A request the server refuses
(HTTP 4xx) fails only that image: no other server would take it either.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from lib_facepop.api_client import (
    BadReplyError,
    ServerRefusedError,
    ServerUnavailableError,
    WebUIServer,
)
from lib_facepop.batch.progress import Progress, failure_reason
from lib_facepop.batch.work_queue import WorkQueue

Item = TypeVar("Item")

DROP_AFTER = 2
"""A server is dropped after failing this many images in a row."""


class ServerSetupError(RuntimeError):
    """A server can't be used as given (refuses the credentials, has no API)."""


class NoServerError(RuntimeError):
    """None of the servers answers."""


class ServerLacksError(RuntimeError):
    """A server answers but lacks what the run needs of it; ``remedy`` says what the user
    can do about it."""

    def __init__(self, message: str, remedy: str) -> None:
        super().__init__(message)
        self.remedy = remedy


@dataclass(frozen=True)
class ProbeFailure:
    """Why a probed server can't be used for the run."""

    server: str
    """The server as messages name it (its URL; on a cluster, the node and its URL)."""
    why: str
    refused: bool = False
    """It refuses every request (credentials, no API): the user's to fix."""
    lacking: bool = False
    """It answers but lacks what the run needs (the extras API); ``remedy`` says what the
    user can do about it."""
    remedy: str = ""

    def __str__(self) -> str:
        return f"{self.server}: {self.why}"


def probe_server(server: WebUIServer, ask: Callable[[WebUIServer], None] | None = None
                 ) -> ProbeFailure | None:
    """None when the server answers the probe (and ``ask``, if given, which raises
    ServerLacksError for a server without what the run needs); else why it can't be
    used."""
    try:
        server.probe()
        if ask is not None:
            ask(server)
    except ServerRefusedError as exc:
        return ProbeFailure(server.url, exc.reason, refused=True)
    except (ServerUnavailableError, BadReplyError) as exc:
        return ProbeFailure(server.url, exc.reason)
    except ServerLacksError as exc:
        return ProbeFailure(server.url, str(exc).removeprefix(f"{server.url}: "),
                            lacking=True, remedy=exc.remedy)
    return None


def probe_servers(servers: Sequence[WebUIServer], progress: Progress,
                  ask: Callable[[WebUIServer], None] | None = None) -> list[WebUIServer]:
    """The servers that answer (``probe_server``); ServerSetupError for one that refuses,
    or when every server lacks what the run needs; NoServerError when none answers."""
    answering: list[WebUIServer] = []
    silent: list[ProbeFailure] = []
    lacking: list[ProbeFailure] = []
    for server in servers:
        failure = probe_server(server, ask)
        if failure is None:
            answering.append(server)
            continue
        if failure.refused:
            raise ServerSetupError(str(failure))
        (lacking if failure.lacking else silent).append(failure)
        if len(servers) > 1:
            progress.say(f"leaving out {failure}")
    if answering:
        return answering
    if lacking and not silent:
        remedies = list(dict.fromkeys(failure.remedy for failure in lacking))
        raise ServerSetupError("no server can do what was asked: "
                               + "; ".join([*map(str, lacking), *remedies]))
    raise NoServerError("no WebUI server answers: " + "; ".join(map(str, silent + lacking)))


Work = Callable[[Item, WebUIServer], int]
"""Does one item on one server; returns the faces it processed."""


class ServerWorkers(Generic[Item]):
    """One worker thread per server, all taking from one queue."""

    def __init__(self, servers: Sequence[WebUIServer], work: Work,
                 name_of: Callable[[Item], str], progress: Progress, *,
                 capacity: int | None = None,
                 ended: Callable[[Item], None] | None = None) -> None:
        """``ended(item)`` is called once an item is done or has failed for good."""
        self.servers = list(servers)
        self.work = work
        self.name_of = name_of
        self.progress = progress
        self.ended = ended
        self.queue: WorkQueue[Item] = WorkQueue(
            [s.url for s in self.servers], self._failed,
            capacity=capacity or 2 * len(self.servers))
        self._threads = [threading.Thread(target=self._serve, args=(server,), daemon=True,
                                          name=f"facepop {server.url}")
                         for server in self.servers]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def put(self, item: Item) -> bool:
        """Hand an item to the servers; False (and the item failed) when none is left."""
        if self.queue.put(item):
            return True
        self._failed(item, self.queue.no_worker_reason())
        return False

    @property
    def has_servers(self) -> bool:
        return self.queue.has_workers

    def no_server_reason(self) -> str:
        return self.queue.no_worker_reason()

    def finish(self, poll: float = 0.2) -> None:
        """No more items; wait for the servers to finish theirs (interruptible)."""
        self.queue.close()
        for thread in self._threads:
            while thread.is_alive():
                thread.join(poll)

    # --- one server ---------------------------------------------------------------------
    def _serve(self, server: WebUIServer) -> None:
        in_a_row = 0
        while (item := self.queue.take(server.url)) is not None:
            name = self.name_of(item)
            try:
                faces = self.work(item, server)
            except ServerRefusedError as exc:
                if exc.server_level:
                    self._hand_over(item, server, exc)
                    self._drop(server, f"{exc} (it refuses every request)")
                    return
                self._item_failed(item, str(exc))
                in_a_row = 0
            except (ServerUnavailableError, BadReplyError) as exc:
                in_a_row += 1
                self._hand_over(item, server, exc)
                if in_a_row >= DROP_AFTER:
                    self._drop(server, f"{exc} ({in_a_row} images failed in a row)")
                    return
            except Exception as exc:  # the image's own failure; the batch goes on
                self._item_failed(item, failure_reason(exc, name))
            else:
                self.queue.done(item)
                self.progress.done(name, faces, server.url)
                self._end(item)
                in_a_row = 0

    def _hand_over(self, item: Item, server: WebUIServer, exc: Exception) -> None:
        requeued = self.queue.give_back(item, server.url, str(exc))
        if requeued:
            self.progress.say(f"{self.name_of(item)}: {exc}; another server will do it")

    def _drop(self, server: WebUIServer, reason: str) -> None:
        self.progress.say(f"dropping server {reason}")
        self.queue.drop(server.url, reason)

    def _item_failed(self, item: Item, reason: str) -> None:
        self.queue.done(item)
        self.progress.failed(self.name_of(item), reason)
        self._end(item)

    def _failed(self, item: Item, reason: str) -> None:
        self.progress.failed(self.name_of(item), reason)
        self._end(item)

    def _end(self, item: Item) -> None:
        if self.ended is not None:
            self.ended(item)

