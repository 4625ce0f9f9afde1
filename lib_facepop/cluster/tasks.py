"""What runs on a node of the cluster: the probe of the node's own WebUI server, and one
image from its file's bytes to its files' bytes (docs/render-farm.md).

Nothing here imports Ray: the driver sends these functions to the nodes as tasks, and
tests call them directly. An image goes through ``BatchRunner.process``, the same code as a
run on one machine, so results are byte for byte the same.

A node declares its server with the Ray resource ``facepop_server`` (how many images it
works on at once) and the server's URL as seen from the node in ``$FACEPOP_SERVER``
(default ``http://127.0.0.1:7860``) in the environment of its ``ray start``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from lib_facepop import __version__
from lib_facepop.api_client import (
    BadReplyError,
    ServerRefusedError,
    ServerSettings,
    ServerUnavailableError,
)
from lib_facepop.api_client.extras import ServerOffer
from lib_facepop.api_client.server import normalized_url
from lib_facepop.batch.inputs import InputImage
from lib_facepop.batch.outputs import OutputFolder
from lib_facepop.batch.progress import failure_reason
from lib_facepop.batch.runner import BatchOptions, BatchRunner
from lib_facepop.batch.server_tools import asker
from lib_facepop.batch.servers import ProbeFailure, probe_server
from lib_facepop.cluster.recording import (
    Events,
    RecordingProgress,
    kept_logs,
    model_copy,
    task_folder,
    written_files,
)
from lib_facepop.detect import create_detector
from lib_facepop.images import LoadedImage, read_image_bytes
from lib_facepop.masks import MaskSource, create_mask_source
from lib_facepop.settings import FacePopSettings
from lib_facepop.standalone import local_processor

NODE_RESOURCE = "facepop_server"
SERVER_ENV = "FACEPOP_SERVER"
DEFAULT_NODE_SERVER = "http://127.0.0.1:7860"
LIMIT_HINT = "--max-megapixels"

DONE = "done"
IMAGE_FAILED = "image failed"
SERVER_FAILED = "server failed"
SERVER_REFUSED = "server refused"


@dataclass(frozen=True)
class NodeReport:
    """A node's server as its probe found it."""

    url: str
    facepop: str
    """FacePop's version on the node."""
    problem: ProbeFailure | None = None
    """Why the server can't be used (None when it answers)."""
    offer: ServerOffer | None = None


def node_server_url(environ: Mapping[str, str] | None = None) -> str:
    """The URL of this node's server: $FACEPOP_SERVER, else the WebUI's default."""
    return (environ if environ is not None else os.environ).get(
        SERVER_ENV, "").strip() or DEFAULT_NODE_SERVER


def probe_node_server(settings: ServerSettings, asking: FacePopSettings | None,
                      environ: Mapping[str, str] | None = None) -> NodeReport:
    """Whether this node's server answers, and (``asking``: the run's settings, which need
    the server's restorers or upscalers) what restorers and upscalers it has."""
    url = node_server_url(environ)
    try:
        url = normalized_url(url)
    except ValueError as exc:
        return NodeReport(url, __version__, ProbeFailure(url, f"${SERVER_ENV} {url}: {exc}"))
    offers: dict[str, ServerOffer] = {}
    problem = probe_server(settings.server(url),
                           asker(offers, asking) if asking is not None else None)
    return NodeReport(url, __version__, problem, offers.get(url))


@dataclass(frozen=True)
class ModelFile:
    """The MODNet model file the driver uses, sent to the nodes: its name and SHA-256."""

    name: str
    digest: str


@dataclass(frozen=True)
class ClusterJob:
    """What every image of a run shares."""

    options: BatchOptions
    servers: ServerSettings = field(default_factory=ServerSettings)
    processor: str = "none"
    """The local processor (--processor) for images that need no server."""
    model: ModelFile | None = None
    log_level: int = logging.WARNING


@dataclass(frozen=True)
class ImageItem:
    """One image as the driver sends it: its file's bytes and names."""

    path: str
    """The file as the driver names it (messages)."""
    shown: str
    output: PurePath
    data: bytes


@dataclass(frozen=True)
class Assignment:
    """The server a task uses: its URL as seen from the task's node (None: no server),
    what it offers, and what run.json adds to its record (the node)."""

    url: str | None = None
    offer: ServerOffer | None = None
    where: Mapping[str, str] = field(default_factory=dict)


@dataclass
class TaskOutcome:
    status: str
    events: Events
    faces: int = 0
    used_server: bool = False
    reason: str = ""
    """Why the image or the server failed."""
    request_refused: bool = False
    """The server refused this request (HTTP 4xx), not every request."""
    files: list[tuple[str, bytes]] = field(default_factory=list)
    """(path below --out, bytes), the result last."""


def process_image(job: ClusterJob, item: ImageItem, assignment: Assignment,
                  model: bytes | None = None) -> TaskOutcome:
    """One image, start to end, on this node: its files come back as bytes."""
    events = Events()
    with task_folder() as folder, kept_logs(events, job.log_level):
        out = OutputFolder(folder, overwrite=True)
        server = job.servers.server(assignment.url) if assignment.url else None
        offers = {server.url: assignment.offer} if server and assignment.offer else {}

        def read(_: InputImage) -> LoadedImage:
            return read_image_bytes(item.data, item.path, job.options.max_pixels, LIMIT_HINT)

        runner = BatchRunner(dataclasses.replace(job.options, out=out),
                             create_detector(job.options.settings), _mask_source(job, model),
                             RecordingProgress(events), servers=[server] if server else [],
                             local=local_processor(job.processor), reader=read, offers=offers)
        image = InputImage(Path(item.path), item.shown, item.output)
        try:
            faces, used = runner.process(image, server, assignment.where)
        except ServerRefusedError as exc:
            if exc.server_level:
                return TaskOutcome(SERVER_REFUSED, events, reason=exc.reason)
            return TaskOutcome(IMAGE_FAILED, events, reason=exc.reason, request_refused=True)
        except (ServerUnavailableError, BadReplyError) as exc:
            return TaskOutcome(SERVER_FAILED, events, reason=exc.reason)
        except Exception as exc:  # the image's own failure; the run goes on
            logging.getLogger(__name__).debug("FacePop: %s failed", item.shown, exc_info=True)
            return TaskOutcome(IMAGE_FAILED, events, reason=failure_reason(exc, item.shown))
        files = written_files(folder, out.target(image))
    return TaskOutcome(DONE, events, faces=faces, used_server=used is not None, files=files)


def _mask_source(job: ClusterJob, model: bytes | None) -> MaskSource:
    """The driver's choice of masks: its MODNet model where it has one, else the selfie
    masks its own run would fall back to."""
    settings = job.options.settings
    if settings.mask_source not in ("auto", "modnet"):
        return create_mask_source(settings)
    if job.model is None or model is None:
        return create_mask_source(settings.replace(mask_source="selfie"))
    return create_mask_source(settings, model_file=model_copy(job.model.name,
                                                              job.model.digest, model))
