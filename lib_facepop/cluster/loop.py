"""The driver's loop: keep every server's tasks coming, take in what comes back.

Images are read (their bytes only) as they are handed out, so at most as many are held as
the servers take at once. A task's answer is written (``results``) and said (``progress``);
a failure goes by the run's rules (``dispatch``). A task that never answers because its
worker or node died comes back as one of Ray's errors and is tried again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import ray
from ray.exceptions import NodeDiedError, RayError, RayTaskError, TaskUnschedulableError

from lib_facepop.batch.inputs import InputImage
from lib_facepop.batch.outputs import OutputFolder
from lib_facepop.batch.progress import Progress, failure_reason
from lib_facepop.batch.runner import take_image
from lib_facepop.batch.shared_folder import SharedFolder
from lib_facepop.cluster.dispatch import Dispatch, Entry, Slot
from lib_facepop.cluster.nodes import cluster_cpus, live_node_ids, on_node
from lib_facepop.cluster.recording import Events
from lib_facepop.cluster.results import ResultWriter
from lib_facepop.cluster.tasks import (
    DONE,
    IMAGE_FAILED,
    NODE_RESOURCE,
    SERVER_REFUSED,
    Assignment,
    ClusterJob,
    ImageItem,
    TaskOutcome,
    process_image,
)
from lib_facepop.images import image_file_bytes

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
"""How long the loop waits for an answer before it looks at Ctrl-C and the nodes again."""
NODE_CHECK_SECONDS = 5.0
"""How often the loop asks which nodes are alive (a node that died idle is dropped)."""
CANCEL_GRACE_SECONDS = 3.0
"""How long cancelled tasks get to stop by themselves before their workers are killed."""


class Loop:
    def __init__(self, job: ClusterJob, slots: list[Slot], progress: Progress,
                 out: OutputFolder, *, shared: SharedFolder | None = None,
                 model_data: Any = None, clock: Callable[[], float] = time.monotonic) -> None:
        """``shared``: the output folder as other runs may share it; each image is claimed
        before its task, and one another run holds is left to it."""
        self.dispatch = Dispatch(slots, progress, ended=self._release)
        self.progress = progress
        self.out = out
        self.shared = shared
        self.writer = ResultWriter(out)
        self.clock = clock
        self._job = ray.put(job)
        self._model = model_data
        self._remote = ray.remote(process_image)
        self._in_flight: dict[Any, tuple[Entry, Slot]] = {}
        self._said: set[str] = set()
        self._logged: set[tuple[str, int, str]] = set()
        self._images: Iterator[InputImage] = iter(())
        self._no_more_images = False

    def run(self, images: Iterable[InputImage]) -> None:
        self._images = iter(images)
        checked = self.clock()
        while True:
            self._hand_out()
            if not self._in_flight:
                self.dispatch.fail_stranded()
                if self._no_more_images:
                    return
                continue
            ready, _ = ray.wait(list(self._in_flight), num_returns=1, timeout=POLL_SECONDS)
            for ref in ready:
                self._take_in(ref)
            if self.clock() - checked >= NODE_CHECK_SECONDS:
                checked = self.clock()
                self._check_nodes()

    def cancel(self) -> None:
        """Stop every task in flight: asked first, their workers killed after a grace."""
        refs = list(self._in_flight)
        if not refs:
            return
        for ref in refs:
            ray.cancel(ref)
        try:
            _, left = ray.wait(refs, num_returns=len(refs), timeout=CANCEL_GRACE_SECONDS)
        except KeyboardInterrupt:
            left = refs
        for ref in left:
            ray.cancel(ref, force=True)
        self._in_flight.clear()

    # --- handing out --------------------------------------------------------------------
    def _hand_out(self) -> None:
        while True:
            pair = self.dispatch.next_waiting()
            if pair is None:
                if not self.dispatch.has_slots:  # every image left fails, as it comes
                    while self._next_image() is not None:
                        pass
                    return
                if not any(slot.free for slot in self.dispatch.slots):
                    return
                entry = self._next_image()
                if entry is None:
                    return
                slot = self.dispatch.slot_for(entry)
                assert slot is not None  # a new image has failed on no server
                pair = entry, slot
            self._submit(*pair)

    def _next_image(self) -> Entry | None:
        """The next image to hand out, claimed: those done, or taken by another run, are
        skipped; with no server left, each fails."""
        for image in self._images:
            if not take_image(image, self.out, self.shared, self.progress):
                continue
            entry = Entry(image)
            if not self.dispatch.has_slots:
                self.dispatch.fail(entry, self.dispatch.no_slot_reason())
            else:
                return entry
        self._no_more_images = True
        return None

    def _release(self, entry: Entry) -> None:
        """The image has ended here (written, or failed for good): its claim goes."""
        if self.shared is not None:
            self.shared.release(entry.image.output)

    def _submit(self, entry: Entry, slot: Slot) -> None:
        image = entry.image
        try:
            data = image_file_bytes(image.path)
        except Exception as exc:  # the image's own failure; the run goes on
            self.dispatch.fail(entry, failure_reason(exc, entry.name))
            return
        options: dict[str, Any] = {"num_cpus": 1, "max_retries": 0,
                                   "name": f"facepop {entry.name}"}
        if slot.node_id is not None:
            options.update(resources={NODE_RESOURCE: 1}, scheduling_strategy=on_node(
                slot.node_id))
        item = ImageItem(str(image.path), image.shown, image.output, data)
        ref = self._remote.options(**options).remote(
            self._job, item, Assignment(slot.url, slot.offer, slot.where), self._model)
        slot.busy += 1
        self._in_flight[ref] = (entry, slot)

    # --- taking in ----------------------------------------------------------------------
    def _take_in(self, ref: Any) -> None:
        entry, slot = self._in_flight.pop(ref)
        slot.busy -= 1
        try:
            outcome: TaskOutcome = ray.get(ref)
        except RayTaskError as exc:  # FacePop raised outside its own handling
            self.dispatch.image_failed(entry, slot, _last_line(exc), request_refused=False)
            return
        except RayError as exc:  # its worker or node died, or its node is gone
            gone = isinstance(exc, (NodeDiedError, TaskUnschedulableError)) or (
                slot.node_id is not None and slot.node_id not in live_node_ids())
            self.dispatch.lost(entry, slot, gone, _last_line(exc))
            return
        self._say(outcome.events, slot)
        if outcome.status == DONE:
            self._write(entry, slot, outcome)
        elif outcome.status == IMAGE_FAILED:
            reason = outcome.reason
            if outcome.request_refused:  # worded as on one machine: the server named
                reason = f"{slot.label}: {reason}"
            self.dispatch.image_failed(entry, slot, reason, outcome.request_refused)
        else:
            self.dispatch.server_failed(entry, slot, outcome.reason,
                                        refuses_all=outcome.status == SERVER_REFUSED)

    def _write(self, entry: Entry, slot: Slot, outcome: TaskOutcome) -> None:
        self.dispatch.succeeded(slot)
        try:
            written = self.writer.write(entry.image, outcome.files)
        except Exception as exc:
            self.dispatch.fail(entry, f"can't write its files here ({exc})")
            return
        if written is None:
            log.debug("FacePop: %s came back again; written once already", entry.name)
            return
        self._release(entry)
        log.info("FacePop: %s: %d face(s) processed -> %s", entry.name, outcome.faces,
                 written)
        self.progress.done(entry.name, outcome.faces,
                           slot.label if outcome.used_server else None)

    def _say(self, events: Events, slot: Slot) -> None:
        """A task's notes, lines and log records, each line once per run (every task
        says what its server lacks, as a run on one machine says it once)."""
        for name, text in events.notes:
            self.progress.note(name, text)
        for line in events.lines:
            if slot.url and line.startswith(f"{slot.url}: "):
                line = f"{slot.label}: {line[len(slot.url) + 2:]}"
            if line not in self._said:
                self._said.add(line)
                self.progress.say(line)
        for record in events.logs:
            key = (record.logger, record.level, record.message)
            if key not in self._logged:
                self._logged.add(key)
                logging.getLogger(record.logger).log(record.level, "%s", record.message)

    def _check_nodes(self) -> None:
        """Servers whose node is gone are dropped, and a run without servers stops when
        no node with a CPU is left."""
        live = live_node_ids()
        for slot in self.dispatch.slots:
            if slot.alive and slot.node_id is not None and slot.node_id not in live:
                self.dispatch.drop(slot, f"{slot.label}: its node left the cluster")
            elif slot.alive and slot.url is None and cluster_cpus() == 0:
                self.dispatch.drop(slot, "no node of the cluster is left")


def _last_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[-1] if text else type(exc).__name__
