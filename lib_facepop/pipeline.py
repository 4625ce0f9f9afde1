"""detect -> align (upscale) -> enhance -> mask -> face pass -> restore -> eyes -> colour
match -> blend, as plain data.

The pipeline knows nothing of the WebUI: a host hands it an RGB array, settings and the
main job's prompt and seed (and, optionally, its restorers and upscalers as ``FaceTools``),
and gets back the composite, the union of the face masks (to protect the faces from the
main pass) and everything in between (for debugging).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from lib_facepop.align import AlignedFace, align_face
from lib_facepop.blend import PasteBack, blend_faces
from lib_facepop.colour import match_colour
from lib_facepop.detect import DetectionOptions, FaceDetector, select_faces
from lib_facepop.enhance import enhance
from lib_facepop.eyes import EyesWork, eyes_stage
from lib_facepop.face_pass import MainJob, build_tasks, face_pass_params
from lib_facepop.faces import Face
from lib_facepop.masks import FaceMask, MaskSource
from lib_facepop.masks.background import replace_background
from lib_facepop.notices import Notices
from lib_facepop.processors import FaceProcessor, FaceTask
from lib_facepop.processors.base import conform_outputs
from lib_facepop.restore import resolve_restorer, restore_faces
from lib_facepop.settings import FacePopSettings
from lib_facepop.tools import FaceTools
from lib_facepop.upscale import resolve_upscaler

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedFace:
    """A face ready for its pass: aligned, masked, and the picture the pass will see."""

    face: Face
    aligned: AlignedFace
    mask: FaceMask
    pass_input: np.ndarray


# Where the colour match may compare source and processed face when the background was
# replaced before the pass: only where the matte is sure it is the person.
PERSON_FOR_COLOUR = 0.9


@dataclass(frozen=True)
class ProcessedFace:
    """One face after every stage; ``output`` is what was pasted back (in the aligned
    frame), the other pictures are the stages on the way, where they ran."""

    prepared: PreparedFace
    task: FaceTask
    output: np.ndarray
    pass_output: np.ndarray
    """The face as the face pass returned it."""
    restored: np.ndarray | None = None
    eyes: EyesWork | None = None
    colour_matched: np.ndarray | None = None


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
    """One detector, one mask source and one processor, run over images one at a time.

    ``tools`` holds the host's face restorers and upscalers (none by default: restoration
    is then announced once and skipped, small faces are enlarged with Lanczos);
    ``notices`` says each unavailable or failing tool once (a host may share one per job).
    """

    def __init__(self, detector: FaceDetector, mask_source: MaskSource,
                 processor: FaceProcessor, *, tools: FaceTools | None = None,
                 notices: Notices | None = None) -> None:
        self.detector = detector
        self.mask_source = mask_source
        self.processor = processor
        self.tools = tools or FaceTools()
        self.notices = notices or Notices()

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
        upscaler = resolve_upscaler(settings.upscaler, self.tools, self.notices)
        for face in faces:
            aligned = align_face(image, face, settings, upscaler, self.notices)
            mask = self.mask_source.make_mask(aligned, settings)
            pass_input = enhance(aligned.image, settings.enhance_filter)
            if settings.remove_background and mask.person is not None:
                pass_input = replace_background(pass_input, mask.person)
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
        """The face pass over the analysed faces, the stages after it, then paste-back."""
        job = job or MainJob()
        timings = dict(analysed.timings)
        prepared = analysed.faces
        tasks = build_tasks([p.pass_input for p in prepared], settings, job)
        with _timed(timings, "process"):
            outputs = self.processor.process(tasks, face_pass_params(settings)) if tasks else []
        outputs = conform_outputs(outputs, [p.aligned.size for p in prepared],
                                  self.processor.name)
        processed = [ProcessedFace(p, t, o, pass_output=o)
                     for p, t, o in zip(prepared, tasks, outputs, strict=True)]
        if processed:
            processed = self._after_face_pass(processed, settings, timings)
        with _timed(timings, "blend"):
            blended = blend_faces(analysed.image, [_paste_back(p) for p in processed])
        log.info("FacePop: %d face(s) found, %d processed", len(analysed.detected),
                 len(prepared))
        return PipelineResult(source=analysed.image, image=blended.image,
                              detected=analysed.detected, faces=processed,
                              face_mask=blended.face_mask, timings=timings)

    def _after_face_pass(self, faces: list[ProcessedFace], settings: FacePopSettings,
                         timings: dict[str, float]) -> list[ProcessedFace]:
        """Restoration, the eyes and colour match, each where the settings ask for it."""
        restorer = resolve_restorer(settings, self.tools, self.notices)
        if restorer is not None:
            with _timed(timings, "restore"):
                restored = restore_faces([f.output for f in faces], restorer, settings,
                                         self.notices)
            faces = [dataclasses.replace(f, restored=r, output=f.output if r is None else r)
                     for f, r in zip(faces, restored, strict=True)]
        if settings.eyes_pass or settings.keep_original_eyes:
            with _timed(timings, "eyes"):
                upscaler = resolve_upscaler(settings.upscaler, self.tools, self.notices)
                outputs, eyes = eyes_stage(
                    [f.output for f in faces], [f.prepared.aligned for f in faces],
                    [f.task for f in faces], settings, self.processor, upscaler,
                    self.notices)
            faces = [dataclasses.replace(f, output=o, eyes=e)
                     for f, o, e in zip(faces, outputs, eyes, strict=True)]
        if settings.colour_match:
            with _timed(timings, "colour_match"):
                matched = [_colour_matched(f, settings) for f in faces]
            faces = [dataclasses.replace(f, output=m, colour_matched=m)
                     for f, m in zip(faces, matched, strict=True)]
        return faces

    def run(self, image: np.ndarray, settings: FacePopSettings, job: MainJob | None = None,
            allowed: np.ndarray | None = None) -> PipelineResult:
        """The whole pipeline on one RGB uint8 image."""
        return self.finish(self.analyse(image, settings, allowed), settings, job)


def _centre_allowed(face: Face, allowed: np.ndarray) -> bool:
    x, y = int(face.center[0]), int(face.center[1])
    height, width = allowed.shape[:2]
    return 0 <= x < width and 0 <= y < height and bool(allowed[y, x])


def _paste_back(processed: ProcessedFace) -> PasteBack:
    prepared = processed.prepared
    return PasteBack(face_image=processed.output, mask=prepared.mask.mask,
                     to_aligned=prepared.aligned.transform,
                     crop_corners=prepared.aligned.crop.corners())


def _colour_matched(face: ProcessedFace, settings: FacePopSettings) -> np.ndarray:
    """The face's output matched in colour to the source at its mask's soft edge."""
    prepared = face.prepared
    valid = None
    if settings.remove_background and prepared.mask.person is not None:
        valid = prepared.mask.person >= PERSON_FOR_COLOUR
    return match_colour(face.output, prepared.aligned.image, prepared.mask.mask, valid)


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = time.perf_counter() - start
