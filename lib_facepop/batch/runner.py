"""One batch: every image read, analysed, given its face pass (and main pass), written.

Each image is on its own: whatever goes wrong with one (unreadable, too large, a request
refused, a bug) is reported in one line and the batch goes on. Without servers the work
happens image after image. With servers, this thread reads and analyses the images (the
CPU part: detection, alignment, masks) while one worker per server does the face pass,
restoration, the main pass, the paste-back and the writing, so every server is kept busy.
Each server's worker uses that server's restorers and upscalers (``server_tools``); when
small faces are enlarged by a server's upscaler, this thread only detects the faces and the
worker cuts them out, so an image's faces are enlarged by the server that processes them.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lib_facepop.api_client import WebUIServer
from lib_facepop.api_client.extras import ServerOffer
from lib_facepop.api_client.face_pass import (
    DEFAULT_FACE_BATCH,
    ServerJob,
    WebUIServerProcessor,
)
from lib_facepop.api_client.main_pass import main_pass
from lib_facepop.batch.inputs import InputImage
from lib_facepop.batch.outputs import OutputFolder
from lib_facepop.batch.progress import Progress, ProgressLog, Tally, failure_reason
from lib_facepop.batch.server_tools import tool_set, upscales_on_servers
from lib_facepop.batch.servers import ServerWorkers
from lib_facepop.batch.shared_folder import SharedFolder
from lib_facepop.debug import DebugFolder
from lib_facepop.detect import FaceDetector
from lib_facepop.face_pass import MAX_SEED, MainJob
from lib_facepop.faces import Face
from lib_facepop.images import LoadedImage, read_image, restore_transparency
from lib_facepop.masks import MaskSource
from lib_facepop.notices import Notices
from lib_facepop.pipeline import FacePipeline, PipelineResult, PreparedImage
from lib_facepop.processors import FaceProcessor, IdentityProcessor
from lib_facepop.settings import FacePopSettings
from lib_facepop.tools import FaceTools

log = logging.getLogger(__name__)

Reader = Callable[[InputImage], LoadedImage]
UNCHANGED_BY_RESTORER = ("had a face the server's face restoration returned unchanged (the "
                         "restorer found no face in the crop, or could not load its model; "
                         "the server's log says which)")


@dataclass(frozen=True)
class BatchOptions:
    settings: FacePopSettings
    out: OutputFolder
    prompt: str = ""
    negative_prompt: str = ""
    seed: int = -1
    """The main job's seed for every image (faces: seed + face index); -1: random per
    image."""
    server_job: ServerJob = field(default_factory=ServerJob)
    main_pass: bool = False
    face_batch: int = DEFAULT_FACE_BATCH
    max_pixels: int | None = None


@dataclass
class _Job:
    """One image, its faces found (and cut out and masked, unless a server does that),
    ready for its passes."""

    source: InputImage
    loaded: LoadedImage
    main: MainJob
    detected: list[Face]
    faces: list[Face]
    """The faces to process, in order."""
    analysed: PreparedImage | None
    """None: the faces are cut out by the server that processes the image."""
    timings: dict[str, float] = field(default_factory=dict)


def take_image(image: InputImage, out: OutputFolder, shared: SharedFolder | None,
               progress: Progress) -> bool:
    """Whether this run works on the image now; False, said as skipped, when its result
    exists or another run writing into ``shared`` holds it. True with ``shared`` means it
    is claimed: release it once it has ended."""
    if out.is_done(image):
        progress.skipped(image.shown)
        return False
    if shared is None:
        return True
    owner = shared.claim(image.output)
    if owner is not None:
        progress.skipped(image.shown, left_to=owner.describe())
        return False
    if out.is_done(image):  # another run finished it meanwhile
        progress.skipped(image.shown)
        shared.release(image.output)
        return False
    return True


class BatchRunner:
    def __init__(self, options: BatchOptions, detector: FaceDetector, mask_source: MaskSource,
                 progress: Progress, *, servers: Sequence[WebUIServer] = (),
                 local: FaceProcessor | None = None, reader: Reader | None = None,
                 offers: Mapping[str, ServerOffer] | None = None,
                 shared: SharedFolder | None = None) -> None:
        """``offers``: what each server (by URL) has of the restorers and upscalers the
        settings ask for; a server without one lends the pipeline no tools. ``shared``:
        the output folder as other runs may share it; each image is claimed before any
        work on it, and one another run holds is left to it."""
        self.options = options
        self.settings = options.settings
        self.detector = detector
        self.mask_source = mask_source
        self.progress = progress
        self.servers = list(servers)
        self.local = local or IdentityProcessor()
        self.reader = reader or self._read
        self.offers = dict(offers or {})
        self.shared = shared
        self.notices = Notices(ProgressLog(log, progress))  # this thread's: once per run
        self.cut_on_servers = bool(self.servers) and upscales_on_servers(self.settings)
        self.written: list[Path] = []
        self.debug_folders: list[Path] = []
        self._seeds = random.SystemRandom()

    def run(self, images: Sequence[InputImage], missing: Sequence[tuple[str, str]] = ()
            ) -> Tally:
        """Every image, then the summary; KeyboardInterrupt stops it with the summary of
        what was done (results written so far are whole)."""
        for given, reason in missing:
            self.progress.failed(given, reason)
        workers = self._start_workers() if self.servers else None
        try:
            for image in images:
                self._one(image, workers)
            if workers is not None:
                workers.finish()
        except KeyboardInterrupt:
            self.progress.close(interrupted=True)
            raise
        return self.progress.close()

    # --- this thread ----------------------------------------------------------------------
    def _one(self, image: InputImage, workers: ServerWorkers[_Job] | None) -> None:
        if not take_image(image, self.options.out, self.shared, self.progress):
            return
        handed = False
        try:
            handed = self._start(image, workers)
        finally:
            if not handed:
                self._release(image)

    def _release(self, image: InputImage) -> None:
        if self.shared is not None:
            self.shared.release(image.output)

    def _start(self, image: InputImage, workers: ServerWorkers[_Job] | None) -> bool:
        """Work on the image here, or hand it to the servers (True: they say when it has
        ended)."""
        name = image.shown
        if workers is not None and not workers.has_servers:
            self.progress.failed(name, workers.no_server_reason())
            return False
        try:
            job = self._prepare(image)
        except Exception as exc:  # the image's own failure; the batch goes on
            log.debug("FacePop: %s failed", name, exc_info=True)
            self.progress.failed(name, failure_reason(exc, name))
            return False
        needs_server = bool(job.faces) or self.options.main_pass
        if workers is not None and needs_server:
            workers.put(job)
            return True
        try:
            faces = self._finish(job, self._pipeline(self.local), None)
        except Exception as exc:
            log.debug("FacePop: %s failed", name, exc_info=True)
            self.progress.failed(name, failure_reason(exc, name))
            return False
        self.progress.done(name, faces)
        return False

    def _read(self, image: InputImage) -> LoadedImage:
        return read_image(image.path, self.options.max_pixels, limit_hint="--max-megapixels")

    def _prepare(self, image: InputImage) -> _Job:
        loaded = self.reader(image)
        for note in loaded.notes:
            self.progress.note(image.shown, note.text)
        seed = self.options.seed if self.options.seed >= 0 else self._seeds.randint(0, MAX_SEED)
        main = MainJob(prompt=self.options.prompt, negative_prompt=self.options.negative_prompt,
                       seed=seed)
        pipeline = self._pipeline(self.local)
        if not self.cut_on_servers:
            analysed = pipeline.analyse(loaded.rgb, self.settings)
            return _Job(image, loaded, main, analysed.detected,
                        [p.face for p in analysed.faces], analysed)
        start = time.perf_counter()
        detected, faces = pipeline.find_faces(loaded.rgb, self.settings)
        return _Job(image, loaded, main, detected, faces, None,
                    {"detect": time.perf_counter() - start})

    def _analysed(self, job: _Job, pipeline: FacePipeline) -> PreparedImage:
        """The job's faces cut out and masked, by ``pipeline``'s upscaler where this thread
        left that to the server."""
        if job.analysed is not None:
            return job.analysed
        start = time.perf_counter()
        prepared = pipeline.prepare(job.loaded.rgb, job.faces, self.settings)
        timings = dict(job.timings, align_and_mask=time.perf_counter() - start)
        return PreparedImage(job.loaded.rgb, job.detected, prepared, timings)

    # --- a server's worker (or this thread without servers) --------------------------------
    def _start_workers(self) -> ServerWorkers[_Job]:
        """One worker per server, each with the server's own tools; what a server lacks of
        what the settings ask is said now, before any work."""
        parts = {server.url: self._server_parts(server) for server in self.servers}

        def work(job: _Job, server: WebUIServer) -> int:
            pipeline, record = parts[server.url]
            return self._finish(job, pipeline, server, record)

        workers: ServerWorkers[_Job] = ServerWorkers(
            self.servers, work, lambda job: job.source.shown, self.progress,
            ended=lambda job: self._release(job.source))
        workers.start()
        return workers

    def _server_parts(self, server: WebUIServer) -> tuple[FacePipeline, dict[str, Any]]:
        """The pipeline of ``server`` (its face pass, restorers and upscalers) and what
        run.json records of it; what it lacks of what the settings ask is said now."""
        tools = tool_set(server, self.offers.get(server.url), self.settings,
                         Notices(ProgressLog(log, self.progress, server.url)))
        processor = WebUIServerProcessor(server, self.options.server_job,
                                         face_batch=self.options.face_batch)
        return self._pipeline(processor, tools.tools, tools.notices), tools.record

    # --- one image on this thread (a cluster's task) ---------------------------------------
    def process(self, image: InputImage, server: WebUIServer | None = None,
                where: Mapping[str, Any] | None = None) -> tuple[int, WebUIServer | None]:
        """One image from reading to its files, all on this thread: on ``server`` where it
        needs one (faces, or the main pass), else with the local processor. Returns the
        faces processed and the server used; raises what fails the image (a server's
        failure as its ``ServerError``). ``where`` joins run.json's server record."""
        job = self._prepare(image)
        if server is None or not (job.faces or self.options.main_pass):
            return self._finish(job, self._pipeline(self.local), None), None
        pipeline, record = self._server_parts(server)
        return self._finish(job, pipeline, server, dict(record, **(where or {}))), server

    def _finish(self, job: _Job, pipeline: FacePipeline, server: WebUIServer | None,
                server_record: Mapping[str, Any] | None = None) -> int:
        """Face pass, restoration and the stages after it, paste-back, main pass; then the
        files, the result last (a result on disk means the image is done). A server's
        restorer or upscaler that fails raises (the image goes to another server or fails),
        so no result lacks what was asked for."""
        result = pipeline.finish(self._analysed(job, pipeline), self.settings, job.main)
        image = result.image
        if self.options.main_pass and server is not None:
            image = main_pass(server, image, result.face_mask if result.faces else None,
                              self.options.server_job, job.main.prompt,
                              job.main.negative_prompt, job.main.seed)
        if server is not None and _restored_unchanged(result, self.settings):
            self.progress.note(job.source.shown, UNCHANGED_BY_RESTORER)
        self._write(job, result, image, {"server": dict(server_record)} if server_record
                    else None)
        return len(result.faces)

    def _write(self, job: _Job, result: PipelineResult, image: np.ndarray,
               record: Mapping[str, Any] | None = None) -> None:
        out = self.options.out
        if self.settings.save_faces:
            for i, processed in enumerate(result.faces):
                out.write_face(job.source, i, processed.output)
        if self.settings.debug:
            self.debug_folders.append(DebugFolder(out.debug_root).write(
                job.source.output.as_posix(), result, self.settings, record))
        written = out.write_result(job.source, restore_transparency(image, job.loaded),
                                   job.loaded)
        self.written.append(written)
        log.info("FacePop: %s: %d face(s) processed -> %s", job.source.shown,
                 len(result.faces), written)

    def _pipeline(self, processor: FaceProcessor, tools: FaceTools | None = None,
                  notices: Notices | None = None) -> FacePipeline:
        return FacePipeline(self.detector, self.mask_source, processor, tools=tools,
                            notices=notices or self.notices)


def _restored_unchanged(result: PipelineResult, settings: FacePopSettings) -> bool:
    """Whether a face's restoration gave back exactly the face it was given."""
    return settings.restore_visibility > 0 and any(
        p.restored is not None and np.array_equal(p.restored, p.pass_output)
        for p in result.faces)
