"""detect -> align -> mask -> processor(faces) -> blend, as plain data.

The pipeline knows nothing of the WebUI: a host hands it an RGB array, settings and the
main job's prompt and seed, and gets back the composite, the union of the face masks (to
protect the faces from the main pass) and everything in between (for debugging).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import cv2
import numpy as np

from lib_facepop.align import AlignedFace, align_face
from lib_facepop.blend import PasteBack, blend_faces
from lib_facepop.detect import DetectionOptions, FaceDetector, select_faces
from lib_facepop.errors import FacePopError
from lib_facepop.face_pass import MainJob, build_tasks, face_pass_params
from lib_facepop.faces import Face
from lib_facepop.images import to_rgb8
from lib_facepop.masks import FaceMask, MaskSource
from lib_facepop.masks.background import replace_background
from lib_facepop.processors import FaceProcessor, FaceTask
from lib_facepop.settings import FacePopSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedFace:
    """A face ready for its pass: aligned, masked, and the picture the pass will see."""

    face: Face
    aligned: AlignedFace
    mask: FaceMask
    pass_input: np.ndarray


@dataclass(frozen=True)
class ProcessedFace:
    prepared: PreparedFace
    task: FaceTask
    output: np.ndarray


@dataclass(frozen=True)
class PreparedImage:
    """An image with its faces found, aligned and masked, ready for face passes."""

    image: np.ndarray
    detected: list[Face]
    faces: list[PreparedFace]
    timings: dict[str, float]


@dataclass
class PipelineResult:
    source: np.ndarray
    image: np.ndarray
    detected: list[Face]
    faces: list[ProcessedFace]
    face_mask: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def selected(self) -> list[Face]:
        return [processed.prepared.face for processed in self.faces]


class FacePipeline:
    """One detector, one mask source and one processor, run over images one at a time."""

    def __init__(self, detector: FaceDetector, mask_source: MaskSource,
                 processor: FaceProcessor) -> None:
        self.detector = detector
        self.mask_source = mask_source
        self.processor = processor

    def find_faces(self, image: np.ndarray, settings: FacePopSettings,
                   allowed: np.ndarray | None = None) -> tuple[list[Face], list[Face]]:
        """(every face found, the faces to process in order).

        ``allowed`` is an optional boolean (H, W) map: only faces whose centre lies on a
        True pixel are processed (a user's inpaint mask).
        """
        detected = self.detector.detect(image, DetectionOptions.from_settings(settings))
        candidates = [f for f in detected if allowed is None or _centre_allowed(f, allowed)]
        return detected, select_faces(candidates, DetectionOptions.from_settings(settings))

    def prepare(self, image: np.ndarray, faces: list[Face],
                settings: FacePopSettings) -> list[PreparedFace]:
        prepared = []
        for face in faces:
            aligned = align_face(image, face, settings)
            mask = self.mask_source.make_mask(aligned, settings)
            pass_input = aligned.image
            if settings.remove_background and mask.person is not None:
                pass_input = replace_background(aligned.image, mask.person)
            prepared.append(PreparedFace(face, aligned, mask, pass_input))
        return prepared

    def analyse(self, image: np.ndarray, settings: FacePopSettings,
                allowed: np.ndarray | None = None) -> PreparedImage:
        """Everything that does not depend on the face pass: detection, alignment, masks.

        A host that processes the same image several times (batch count) analyses it once
        and calls ``finish`` per run.
        """
        timings: dict[str, float] = {}
        with _timed(timings, "detect"):
            detected, faces = self.find_faces(image, settings, allowed)
        with _timed(timings, "align_and_mask"):
            prepared = self.prepare(image, faces, settings)
        return PreparedImage(image, detected, prepared, timings)

    def finish(self, analysed: PreparedImage, settings: FacePopSettings,
               job: MainJob | None = None) -> PipelineResult:
        """The face pass over the analysed faces, then paste-back."""
        job = job or MainJob()
        timings = dict(analysed.timings)
        prepared = analysed.faces
        tasks = build_tasks([p.pass_input for p in prepared], settings, job)
        with _timed(timings, "process"):
            outputs = self.processor.process(tasks, face_pass_params(settings)) if tasks else []
        outputs = _normalized_outputs(outputs, prepared, self.processor.name)
        with _timed(timings, "blend"):
            blended = blend_faces(analysed.image, [_paste_back(p, out) for p, out in
                                                   zip(prepared, outputs, strict=True)])
        log.info("FacePop: %d face(s) found, %d processed", len(analysed.detected),
                 len(prepared))
        processed = [ProcessedFace(p, t, o)
                     for p, t, o in zip(prepared, tasks, outputs, strict=True)]
        return PipelineResult(source=analysed.image, image=blended.image,
                              detected=analysed.detected, faces=processed,
                              face_mask=blended.face_mask, timings=timings)

    def run(self, image: np.ndarray, settings: FacePopSettings, job: MainJob | None = None,
            allowed: np.ndarray | None = None) -> PipelineResult:
        """The whole pipeline on one RGB uint8 image."""
        return self.finish(self.analyse(image, settings, allowed), settings, job)


def _centre_allowed(face: Face, allowed: np.ndarray) -> bool:
    x, y = int(face.center[0]), int(face.center[1])
    height, width = allowed.shape[:2]
    return 0 <= x < width and 0 <= y < height and bool(allowed[y, x])


def _paste_back(prepared: PreparedFace, output: np.ndarray) -> PasteBack:
    return PasteBack(face_image=output, mask=prepared.mask.mask,
                     to_aligned=prepared.aligned.transform,
                     crop_corners=prepared.aligned.crop.corners())


def _normalized_outputs(outputs: list[np.ndarray], prepared: list[PreparedFace],
                        name: str) -> list[np.ndarray]:
    """The processor's faces as RGB uint8 at their crop's size (a host may round sizes)."""
    if len(outputs) != len(prepared):
        raise FacePopError(f"face processor {name!r} returned {len(outputs)} faces for "
                           f"{len(prepared)} inputs")
    normalized = []
    for i, (out, prep) in enumerate(zip(outputs, prepared, strict=True)):
        width, height = prep.aligned.size
        face = to_rgb8(out, name=f"face {i} from processor {name!r}")
        if face.shape[:2] != (height, width):
            log.debug("resizing face %d from %s to %dx%d", i, face.shape[:2], width, height)
            face = cv2.resize(face, (width, height), interpolation=cv2.INTER_AREA)
        normalized.append(face)
    return normalized


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = time.perf_counter() - start
