"""FacePop's part of one img2img generation in the WebUI.

Order of events (A1111 v1.10, docs/design.md section 4):

* ``process`` (after seeds and prompts are fixed, before ``p.init``): read the settings;
  find, align and mask the faces of every init image once; run the face pass of the first
  batch; put the composited images into ``p.init_images`` and a mask that keeps the main
  pass off the faces into ``p.image_mask``.
* ``before_process_batch`` for batch 2, 3, ... (batch count > 1): face passes with that
  batch's seeds, then ``p.init`` again so the main pass sees the new images.
* ``postprocess``: drop the job's state.

Every step is guarded: if FacePop fails, the job's own images and mask are put back, the
reason is logged once with its traceback, and the user's normal img2img result comes out.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from lib_facepop import __version__
from lib_facepop.detect import FaceDetector, create_detector
from lib_facepop.errors import SettingsError
from lib_facepop.face_pass import MainJob
from lib_facepop.images import mask_to_uint8
from lib_facepop.masks import MaskSource, create_mask_source
from lib_facepop.pipeline import FacePipeline, PreparedImage
from lib_facepop.processors import IdentityProcessor
from lib_facepop.protect import faces_allowed, main_pass_mask
from lib_facepop.settings import FacePopSettings, infotext_fields
from lib_facepop.webui.face_batch import FaceBatching, FacePassOutOfMemoryError
from lib_facepop.webui.face_pass import (
    NESTED_MARK,
    FacePassInterruptedError,
    FacePassSkippedError,
    WebUIFacePass,
    allowed_script_names,
)
from lib_facepop.webui.outputs import WebUIOutputs

log = logging.getLogger(__name__)

JOB_MARK = "facepop_job"
"""Attribute of the user's job that holds its FacePopJob (state lives and dies with it)."""
VERSION_KEY = "FacePop version"
# img2img "Masked content: original": the main pass starts from the init image everywhere.
FILL_ORIGINAL = 1


@dataclass(frozen=True)
class HostServices:
    """The WebUI modules and options a job uses; passed in so the job is testable."""

    processing: Any
    images: Any
    state: Any
    background_colour: str
    samples_format: str
    models_dir: str | None
    max_face_batch: int
    autocast: Any = contextlib.nullcontext
    quiet_nested_pass: Any = contextlib.nullcontext
    """Context for a nested pass: keeps it from overwriting the job's params.txt."""
    free_memory: Any = None
    """The WebUI's devices.torch_gc: after a face pass ran out of memory."""


@dataclass
class _Originals:
    init_images: list
    image_mask: Any
    inpainting_fill: int
    inpaint_full_res: Any
    inpainting_mask_invert: int

    @staticmethod
    def capture(p: Any) -> _Originals:
        return _Originals(list(p.init_images), p.image_mask, p.inpainting_fill,
                          p.inpaint_full_res, p.inpainting_mask_invert)

    def restore(self, p: Any) -> None:
        p.init_images = list(self.init_images)
        p.image_mask = self.image_mask
        p.inpainting_fill = self.inpainting_fill
        p.inpaint_full_res = self.inpaint_full_res
        p.inpainting_mask_invert = self.inpainting_mask_invert


@dataclass
class _Slot:
    """One batch position: which init image it starts from."""

    position: int
    analysed: PreparedImage


def start_job(p: Any, args: tuple, host: HostServices) -> FacePopJob | None:
    """Called from the script's ``process`` hook."""
    if getattr(p, NESTED_MARK, False) or getattr(p, JOB_MARK, None) is not None:
        return None
    try:
        settings = FacePopSettings.from_args(args)
    except SettingsError as exc:
        log.error("FacePop is off for this job: %s", exc)
        return None
    if not settings.enabled or not getattr(p, "init_images", None):
        return None
    job = FacePopJob(p, settings, host)
    setattr(p, JOB_MARK, job)
    job.start()
    return job


def job_of(p: Any) -> FacePopJob | None:
    return getattr(p, JOB_MARK, None)


def end_job(p: Any) -> None:
    """Called from ``postprocess``: nothing of this job survives into the next."""
    if hasattr(p, JOB_MARK):
        setattr(p, JOB_MARK, None)


class FacePopJob:
    def __init__(self, p: Any, settings: FacePopSettings, host: HostServices) -> None:
        self.p = p
        self.settings = settings
        self.host = host
        self.originals = _Originals.capture(p)
        self.slots: list[_Slot] = []
        self.user_mask: np.ndarray | None = None
        self.failed = False
        self.stopped = False
        self.outputs = WebUIOutputs(p, settings, host.images, host.samples_format)
        self.detector: FaceDetector | None = None
        self.mask_source: MaskSource | None = None
        self.face_batching = FaceBatching(host.max_face_batch, host.state, host.free_memory)

    # --- hooks ----------------------------------------------------------------------------
    def start(self) -> None:
        # Before the main pass has begun, a failure puts the job back exactly as it was.
        self._guarded(self._start, restore=True)

    def before_batch(self, batch_number: int) -> None:
        """Face passes for a later batch; if that fails, the batch keeps the faces of the
        batch before it (the main pass has already started from those images)."""
        if batch_number == 0 or self.failed or self.stopped or not self._has_faces():
            return
        self._guarded(lambda: self._apply_batch(batch_number, reinit=True), restore=False)

    # --- steps ----------------------------------------------------------------------------
    def _start(self) -> None:
        p = self.p
        # One detector and mask source for the whole job; each face pass only differs in
        # its processor.
        self.detector = create_detector(self.settings)
        self.mask_source = create_mask_source(self.settings, models_dir=self.host.models_dir)
        p.extra_generation_params.update(infotext_fields(self.settings))
        p.extra_generation_params[VERSION_KEY] = __version__
        sources = self._source_images()
        self.user_mask = self._user_mask(sources[0].size)
        allowed = faces_allowed(self.user_mask, bool(p.inpainting_mask_invert))
        pipeline = self._pipeline(IdentityProcessor())
        analysed_by_source: dict[int, PreparedImage] = {}
        slot_count = int(p.batch_size) if len(sources) == 1 else len(sources)
        for position in range(slot_count):
            source = sources[0] if len(sources) == 1 else sources[position]
            if id(source) not in analysed_by_source:
                rgb = np.asarray(self._flatten(source))
                analysed_by_source[id(source)] = pipeline.analyse(rgb, self.settings, allowed)
            self.slots.append(_Slot(position, analysed_by_source[id(source)]))
        if not self._has_faces():
            log.info("FacePop: no face to process in this job")
            return
        self._count_face_passes()
        self._apply_batch(0, reinit=False)

    def _apply_batch(self, batch_number: int, *, reinit: bool) -> None:
        p = self.p
        composites: list[np.ndarray] = []
        face_mask: np.ndarray | None = None
        for slot in self.slots:
            composite, mask = self._process_slot(slot, batch_number)
            composites.append(composite)
            face_mask = mask if face_mask is None else np.maximum(face_mask, mask)
            if self.stopped:
                return
        p.init_images = [Image.fromarray(image) for image in composites]
        if face_mask is not None and face_mask.any():
            self._protect_faces(face_mask)
        if reinit:
            with self.host.autocast():
                p.init(p.all_prompts, p.all_seeds, p.all_subseeds)

    def _process_slot(self, slot: _Slot, batch_number: int) -> tuple[np.ndarray, np.ndarray]:
        analysed = slot.analysed
        empty = np.zeros(analysed.image.shape[:2], dtype=np.float32)
        if not analysed.faces:
            return analysed.image, empty
        p = self.p
        # The host slices batch n as items [n * batch_size, (n + 1) * batch_size), with the
        # batch size its first init() settled on.
        item = batch_number * int(p.batch_size) + slot.position
        main = MainJob(prompt=p.all_prompts[item], negative_prompt=p.all_negative_prompts[item],
                       seed=int(p.all_seeds[item]))
        face_pass = WebUIFacePass(
            p, processing=self.host.processing, state=self.host.state,
            allowed_scripts=allowed_script_names(self.settings.face_pass_scripts),
            subseed=int(p.all_subseeds[item]), batching=self.face_batching,
            quiet=self.host.quiet_nested_pass)
        self.host.state.textinfo = (f"FacePop: {len(analysed.faces)} face(s) of image "
                                    f"{item + 1}")
        try:
            result = self._pipeline(face_pass).finish(analysed, self.settings, main)
        except FacePassSkippedError:
            log.info("FacePop: face pass of image %d skipped; it gets plain img2img",
                     item + 1)
            return analysed.image, empty
        except FacePassInterruptedError:
            self.stopped = True
            log.info("FacePop: interrupted")
            return analysed.image, empty
        except FacePassOutOfMemoryError:  # said once, by the face batching
            return analysed.image, empty
        self.outputs.save_faces(result, face_pass.infotexts)
        self.outputs.save_debug(f"image{item + 1:03d}", result)
        return result.image, result.face_mask

    def _protect_faces(self, face_mask: np.ndarray) -> None:
        """Let the main pass work everywhere the user wants, except on the faces."""
        p = self.p
        invert = bool(p.inpainting_mask_invert)
        mask = main_pass_mask(face_mask, self.user_mask, invert)
        p.image_mask = Image.fromarray(mask_to_uint8(mask), mode="L")
        if self.user_mask is None:
            # FacePop's mask is the only one: keep plain img2img behaviour everywhere else.
            p.inpainting_fill = FILL_ORIGINAL
            p.inpaint_full_res = False
            p.inpainting_mask_invert = 0

    # --- helpers ----------------------------------------------------------------------------
    def _pipeline(self, processor: Any) -> FacePipeline:
        return FacePipeline(self.detector, self.mask_source, processor)

    def _source_images(self) -> list[Image.Image]:
        images = list(self.p.init_images)
        sizes = {image.size for image in images}
        if len(sizes) > 1:
            raise ValueError(f"init images of one job must share a size, got {sorted(sizes)}")
        return images

    def _flatten(self, image: Image.Image) -> Image.Image:
        return self.host.images.flatten(image, self.host.background_colour)

    def _user_mask(self, size: tuple[int, int]) -> np.ndarray | None:
        mask = self.originals.image_mask
        if mask is None:
            return None
        binary = self.host.processing.create_binary_mask(mask, round=self.p.mask_round)
        if binary.size != size:
            binary = binary.resize(size, Image.BILINEAR)
        return np.asarray(binary, dtype=np.float32) / 255.0

    def _has_faces(self) -> bool:
        return any(slot.analysed.faces for slot in self.slots)

    def _count_face_passes(self) -> None:
        """Add the face passes to the WebUI's job count, so the progress bar includes them."""
        per_batch = sum(self.face_batching.counted_passes(len(slot.analysed.faces))
                        for slot in self.slots)
        state = self.host.state
        if state.job_count == -1:
            state.job_count = int(self.p.n_iter)
        state.job_count += per_batch * int(self.p.n_iter)

    def _guarded(self, step: Any, *, restore: bool) -> None:
        try:
            step()
        except Exception:
            self.failed = True
            log.exception("FacePop failed; the image is generated without FacePop's face "
                          "pass")
            if restore:
                self._restore()

    def _restore(self) -> None:
        try:
            self.originals.restore(self.p)
        except Exception:
            log.exception("FacePop could not restore the job's init images")
