"""The driver of a run on a Ray cluster: it connects, finds the servers, hands each image to
a task where a server is, writes what comes back and shows the progress (docs/render-farm.md).

The driver reads each input file's bytes (no decoding) and keeps at most as many images
in flight as its servers take at once, so its memory and CPU stay small whatever the
run's size. Ctrl-C cancels the tasks in flight; what was written is whole, so the run
resumes as one on a single machine does.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ray

from lib_facepop.api_client import ServerSettings, WebUIServer
from lib_facepop.api_client.extras import ServerOffer
from lib_facepop.batch.inputs import InputImage
from lib_facepop.batch.progress import Progress, Tally
from lib_facepop.batch.runner import BatchOptions
from lib_facepop.batch.server_tools import (
    UnknownUpscalerError,
    asker,
    check_upscaler,
    needs_server_tools,
)
from lib_facepop.batch.servers import ProbeFailure, probe_server
from lib_facepop.batch.shared_folder import SharedFolder
from lib_facepop.cluster import ClusterError, ClusterUsageError
from lib_facepop.cluster.dispatch import Slot
from lib_facepop.cluster.loop import Loop
from lib_facepop.cluster.nodes import Probed, cluster_cpus, probe_nodes, server_nodes
from lib_facepop.cluster.tasks import ClusterJob, ModelFile
from lib_facepop.masks import create_mask_source
from lib_facepop.masks.fallback import default_models_dir
from lib_facepop.settings import FacePopSettings
from modnet import ModnetError, resolve_modnet_model

log = logging.getLogger(__name__)

SHARED_SERVER_TASKS = 2
"""Images in flight per server given with --server: one in its face pass, one on its way."""
CONNECT_SECONDS = 10.0
"""How long the head's address may take to take a connection before the run stops."""
PROBE_MARGIN = 60.0
"""Seconds a node's probe may take beyond its server's own timeouts and retries."""


@dataclass(frozen=True)
class ClusterRun:
    """What the command line gives a run on a cluster besides the batch's options."""

    address: str
    servers: Sequence[WebUIServer] = ()
    """The servers given with --server (any node may use them)."""
    server_settings: ServerSettings = field(default_factory=ServerSettings)
    processor: str | None = None
    """--processor as given (None: not given)."""
    default_processor: str = "none"
    modnet: Path | None = None
    models_dir: Path | None = None
    progress_interval: float = 30.0
    shared: SharedFolder | None = None
    """The output folder as other runs may share it: images are claimed before their tasks."""
    join: Callable[[Progress], None] | None = None
    """Joins the output folder, after the servers are probed."""


def run_on_cluster(run: ClusterRun, plan: BatchOptions, images: Sequence[InputImage],
                   missing: Sequence[tuple[str, str]] = ()) -> Tally:
    """Every image on the cluster, then the summary. ClusterUsageError or ClusterError
    before any work; KeyboardInterrupt after the tasks were cancelled and the summary
    said."""
    progress = Progress(len(images) + len(missing), sys.stderr,
                        interval=run.progress_interval)
    with _connected(run.address):
        slots = _slots(run, plan, progress)
        if run.join is not None:
            run.join(progress)
        model = _model_file(plan, run)
        job = ClusterJob(options=plan, servers=run.server_settings,
                         processor=run.processor or run.default_processor,
                         model=None if model is None else model[0],
                         log_level=logging.getLogger("lib_facepop").getEffectiveLevel())
        for given, reason in missing:
            progress.failed(given, reason)
        loop = Loop(job, slots, progress, plan.out, shared=run.shared,
                    model_data=None if model is None else model[1])
        try:
            loop.run(images)
        except KeyboardInterrupt:
            loop.cancel()
            progress.close(interrupted=True)
            raise
    return progress.close()


@contextlib.contextmanager
def _connected(address: str) -> Iterator[None]:
    """Connected to the cluster at ``address`` for the run. Ray's own log lines stay out
    of the run's output: its INFO lines, warnings and the messages of other processes it
    would print (docs/render-farm.md, "Facts about Ray")."""
    _check_reachable(address)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ClusterError(f"--cluster {address}: can't connect to a Ray cluster there "
                               f"({_first_line(exc)})") from None
    worker_module: Any = sys.modules.get("ray._private.worker")
    printing = getattr(worker_module, "_worker_logs_enabled", None)
    if printing is not None:
        worker_module._worker_logs_enabled = False
    try:
        yield
    finally:
        if printing is not None:
            worker_module._worker_logs_enabled = printing
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ray.shutdown()


def _check_reachable(address: str) -> None:
    """ClusterError when nothing listens at a HOST:PORT address (``auto`` and
    $RAY_ADDRESS's are Ray's to find): Ray itself would keep trying for minutes."""
    target = os.environ.get("RAY_ADDRESS", "") if address == "auto" else address
    host, colon, port = target.rpartition(":")
    if not colon or not port.isdigit() or "://" in target:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_SECONDS
                                 ).close()
    except OSError as exc:
        raise ClusterError(f"--cluster {address}: no Ray cluster answers at {target} "
                           f"({exc.strerror or exc}); is its head running (ray start "
                           f"--head)?") from None


def _slots(run: ClusterRun, plan: BatchOptions, progress: Progress) -> list[Slot]:
    """The servers of the run, probed: the nodes' own, then those given with --server; or,
    without any, the cluster's CPUs with the local processor."""
    ask = needs_server_tools(plan.settings)
    nodes = server_nodes()
    probed = probe_nodes(nodes, run.server_settings, plan.settings if ask else None,
                         _probe_timeout(run)) if nodes else []
    shared, shared_failures = _probe_shared(run.servers, plan.settings, ask)
    failures = [p.problem for p in probed if p.problem is not None] + shared_failures
    slots = [_node_slot(p) for p in probed if p.problem is None] + shared
    if not nodes and not run.servers:
        if plan.main_pass:
            raise ClusterUsageError("--main-pass runs on a WebUI server; give --server URL, "
                                    "or declare the nodes' servers (docs/render-farm.md)")
        return [Slot("cluster", "the cluster", None, capacity=max(1, cluster_cpus()))]
    if not slots:
        reasons = "; ".join(map(str, failures))
        if all(f.refused for f in failures):
            raise ClusterUsageError(f"no WebUI server takes requests: {reasons}")
        if all(f.refused or f.lacking for f in failures):
            remedies = "; ".join(dict.fromkeys(f.remedy for f in failures if f.remedy))
            raise ClusterUsageError(f"no server can do what was asked: {reasons}; {remedies}")
        raise ClusterError(f"no WebUI server answers: {reasons}")
    for failure in failures:
        progress.say(f"leaving out {failure}")
    if run.processor is not None:
        raise ClusterUsageError("--processor is for runs without a server; the faces go to "
                                "the cluster's WebUI servers")
    try:
        check_upscaler(plan.settings, {s.key: s.offer for s in slots if s.offer is not None})
    except UnknownUpscalerError as exc:
        raise ClusterUsageError(str(exc)) from None
    return slots


def _probe_shared(servers: Sequence[WebUIServer], settings: FacePopSettings, ask: bool
                  ) -> tuple[list[Slot], list[ProbeFailure]]:
    """The --server servers that answer, as slots, and why the others can't be used. One
    that refuses (credentials, no API) stops the run, as on one machine."""
    slots, failures = [], []
    offers: dict[str, ServerOffer] = {}
    asking = asker(offers, settings) if ask else None
    for server in servers:
        failure = probe_server(server, asking)
        if failure is None:
            slots.append(Slot(server.url, server.url, server.url,
                              capacity=SHARED_SERVER_TASKS, offer=offers.get(server.url)))
        elif failure.refused:
            raise ClusterUsageError(str(failure))
        else:
            failures.append(failure)
    return slots, failures


def _node_slot(probed: Probed) -> Slot:
    assert probed.report is not None
    return Slot(f"node:{probed.node.node_id}", probed.label(), probed.report.url,
                node_id=probed.node.node_id, capacity=probed.node.slots,
                offer=probed.report.offer, where={"node": probed.node.name})


def _probe_timeout(run: ClusterRun) -> float:
    retry = run.server_settings.retry
    waits = sum(retry.delay(attempt) for attempt in range(retry.retries))
    return (retry.retries + 1) * 3 * run.server_settings.timeout + waits + PROBE_MARGIN


def _model_file(plan: BatchOptions, run: ClusterRun) -> tuple[ModelFile, Any] | None:
    """The MODNet model this machine's run would use, put in the cluster's object store
    for the nodes (each keeps a copy); None where the masks need none or none is here
    (the nodes then use the selfie masks this machine would fall back to)."""
    settings = plan.settings
    if settings.mask_source not in ("auto", "modnet"):
        return None
    # Says what a run here says about its model (none there, a broken file), once.
    create_mask_source(settings, model_file=run.modnet, models_dir=run.models_dir)
    location = run.modnet if run.modnet is not None else Path(
        run.models_dir if run.models_dir is not None else default_models_dir())
    try:
        model = resolve_modnet_model(location.expanduser())
    except ModnetError:
        return None
    if model is None:
        return None
    data = model.read_bytes()
    return ModelFile(model.name, hashlib.sha256(data).hexdigest()), ray.put(data)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
