"""One batch: every image read, analysed, given its face pass (and main pass), written.

Each image is on its own: whatever goes wrong with one (unreadable, too large, a request
refused, a bug) is reported in one line and the batch goes on. Without servers the work
happens image after image. With servers, this thread reads and analyses the images (the
CPU part: detection, alignment, masks) while one worker per server does the face pass,
the main pass, the paste-back and the writing, so every server is kept busy.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lib_facepop.api_client import WebUIServer
from lib_facepop.api_client.main_pass import main_pass
from lib_facepop.batch.inputs import InputImage
from lib_facepop.batch.outputs import OutputFolder
from lib_facepop.batch.progress import Progress, Tally, failure_reason
from lib_facepop.batch.servers import ServerWorkers
from lib_facepop.debug import DebugFolder
from lib_facepop.detect import FaceDetector
from lib_facepop.face_pass import MAX_SEED, MainJob
from lib_facepop.images import LoadedImage, read_image, restore_transparency
from lib_facepop.masks import MaskSource
from lib_facepop.pipeline import FacePipeline, PipelineResult, PreparedImage
from lib_facepop.processors import FaceProcessor, IdentityProcessor
from lib_facepop.processors.webui_client import (
    DEFAULT_FACE_BATCH,
    ServerJob,
    WebUIServerProcessor,
)
from lib_facepop.settings import FacePopSettings

log = logging.getLogger(__name__)

Reader = Callable[[InputImage], LoadedImage]


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
    """One image, analysed and ready for its passes."""

    source: InputImage
    loaded: LoadedImage
    analysed: PreparedImage
    main: MainJob


class BatchRunner:
    def __init__(self, options: BatchOptions, detector: FaceDetector, mask_source: MaskSource,
                 progress: Progress, *, servers: Sequence[WebUIServer] = (),
                 local: FaceProcessor | None = None, reader: Reader | None = None) -> None:
        self.options = options
        self.settings = options.settings
        self.detector = detector
        self.mask_source = mask_source
        self.progress = progress
        self.servers = list(servers)
        self.local = local or IdentityProcessor()
        self.reader = reader or self._read
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
        name = image.shown
        if self.options.out.is_done(image):
            self.progress.skipped(name)
            return
        if workers is not None and not workers.has_servers:
            self.progress.failed(name, workers.no_server_reason())
            return
        try:
            job = self._prepare(image)
        except Exception as exc:  # the image's own failure; the batch goes on
            log.debug("FacePop: %s failed", name, exc_info=True)
            self.progress.failed(name, failure_reason(exc, name))
            return
        needs_server = bool(job.analysed.faces) or self.options.main_pass
        if workers is not None and needs_server:
            workers.put(job)
            return
        try:
            faces = self._finish(job, self._pipeline(self.local), None)
        except Exception as exc:
            log.debug("FacePop: %s failed", name, exc_info=True)
            self.progress.failed(name, failure_reason(exc, name))
            return
        self.progress.done(name, faces)

    def _read(self, image: InputImage) -> LoadedImage:
        return read_image(image.path, self.options.max_pixels, limit_hint="--max-megapixels")

    def _prepare(self, image: InputImage) -> _Job:
        loaded = self.reader(image)
        for note in loaded.notes:
            self.progress.note(image.shown, note.text)
        analysed = self._pipeline(self.local).analyse(loaded.rgb, self.settings)
        seed = self.options.seed if self.options.seed >= 0 else self._seeds.randint(0, MAX_SEED)
        main = MainJob(prompt=self.options.prompt, negative_prompt=self.options.negative_prompt,
                       seed=seed)
        return _Job(image, loaded, analysed, main)

    # --- a server's worker (or this thread without servers) --------------------------------
    def _start_workers(self) -> ServerWorkers[_Job]:
        pipelines = {server.url: self._pipeline(WebUIServerProcessor(
            server, self.options.server_job, face_batch=self.options.face_batch))
            for server in self.servers}

        def work(job: _Job, server: WebUIServer) -> int:
            return self._finish(job, pipelines[server.url], server)

        workers: ServerWorkers[_Job] = ServerWorkers(self.servers, work,
                                                     lambda job: job.source.shown,
                                                     self.progress)
        workers.start()
        return workers

    def _finish(self, job: _Job, pipeline: FacePipeline, server: WebUIServer | None) -> int:
        """Face pass, paste-back, main pass; then the files, the result last (a result on
        disk means the image is done)."""
        result = pipeline.finish(job.analysed, self.settings, job.main)
        image = result.image
        if self.options.main_pass and server is not None:
            image = main_pass(server, image, result.face_mask if result.faces else None,
                              self.options.server_job, job.main.prompt,
                              job.main.negative_prompt, job.main.seed)
        self._write(job, result, image)
        return len(result.faces)

    def _write(self, job: _Job, result: PipelineResult, image: np.ndarray) -> None:
        out = self.options.out
        if self.settings.save_faces:
            for i, processed in enumerate(result.faces):
                out.write_face(job.source, i, processed.output)
        if self.settings.debug:
            self.debug_folders.append(DebugFolder(out.debug_root).write(
                job.source.output.as_posix(), result, self.settings))
        written = out.write_result(job.source, restore_transparency(image, job.loaded),
                                   job.loaded)
        self.written.append(written)
        log.info("FacePop: %s: %d face(s) processed -> %s", job.source.shown,
                 len(result.faces), written)

    def _pipeline(self, processor: FaceProcessor) -> FacePipeline:
        return FacePipeline(self.detector, self.mask_source, processor)
