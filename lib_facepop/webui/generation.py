"""FacePop's part of one img2img generation in the WebUI.

Order of events (A1111 v1.10, docs/design.md sections 4 and 5):

* ``process`` (prompts and seeds fixed, before ``p.init``): read the settings; find, align
  and mask the faces of every init image once; note what the job's `p` holds, so that it
  can be put back; turn ControlNet units meant only for faces off for the main pass.
* ``before_process_batch`` of EVERY batch (the first too): the face passes of that batch's
  images, with the prompts and seeds the WebUI samples that batch with (after every
  script's ``process``: `#` comments stripped, wildcards filled in), then ``p.init`` again
  so the main pass starts from the new images with a mask that keeps it off the faces.
  The job's stateful scripts (ControlNet) are set aside around the face passes, and the
  job's token merging goes back on after each.
* ``postprocess``: the job's `p` gets back every field FacePop changed (the Batch tab,
  Loopback and SD upscale hand it to the next job), and the job's state is dropped.

Every step is guarded: if FacePop fails, the job's own images and mask are put back, the
reason is logged once with its traceback, and the user's normal img2img result comes out.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
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
from lib_facepop.pipeline import FacePipeline, PipelineResult, PreparedImage
from lib_facepop.processors import FaceTask, IdentityProcessor
from lib_facepop.protect import FILL_ORIGINAL, faces_allowed, main_pass_mask
from lib_facepop.settings import INFOTEXT_PREFIX, FacePopSettings, infotext_fields
from lib_facepop.webui.carried import CarriedFields
from lib_facepop.webui.controlnet_units import ControlNetUnits
from lib_facepop.webui.face_batch import FaceBatching, FacePassOutOfMemoryError
from lib_facepop.webui.face_pass import (
    NESTED_MARK,
    FacePassInterruptedError,
    FacePassSkippedError,
    WebUIFacePass,
    allowed_script_names,
)
from lib_facepop.webui.outer_scripts import set_aside
from lib_facepop.webui.outputs import WebUIOutputs
from lib_facepop.webui.xyz import apply_xyz_overrides

log = logging.getLogger(__name__)

JOB_MARK = "facepop_job"
"""Attribute of the user's job that holds its FacePopJob (state lives and dies with it)."""
VERSION_KEY = f"{INFOTEXT_PREFIX} version"
FACES_KEY = f"{INFOTEXT_PREFIX} faces"
MASKS_KEY = f"{INFOTEXT_PREFIX} mask used"


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
    token_merging: Callable[[Any], None] = lambda p: None
    """Puts the job's token merging back on the model (a nested job ends with it off)."""
    free_memory: Any = None
    """The WebUI's devices.torch_gc: after a face pass ran out of memory."""


@dataclass
class _Slot:
    """One batch position: which init image it starts from."""

    position: int
    source: np.ndarray
    analysed: PreparedImage


class PerImageInfotext:
    """An infotext value per output image (the WebUI calls it with the image's index)."""

    def __init__(self, default: str | None = None) -> None:
        self.values: dict[int, str] = {}
        self.default = default

    def __call__(self, index: int = 0, **_context: Any) -> str | None:
        return self.values.get(index, self.default)


def start_job(p: Any, args: tuple, host: HostServices) -> FacePopJob | None:
    """Called from the script's ``process`` hook."""
    if getattr(p, NESTED_MARK, False):
        return None
    earlier = getattr(p, JOB_MARK, None)
    if earlier is not None and earlier.p is not p:
        # A copy of a job FacePop is working on (ADetailer opens other scripts' jobs again
        # on copies of the job, docs/design.md section 4): the job is the original's.
        return None
    if earlier is not None:  # the job before on this p ended without its postprocess
        earlier.end()
    try:
        settings = apply_xyz_overrides(p, FacePopSettings.from_args(args))
    except SettingsError as exc:
        log.error("FacePop is off for this job: %s", exc)
        return None
    if not settings.enabled or not getattr(p, "init_images", None):
        return None
    try:
        job = FacePopJob(p, settings, host)
    except Exception:
        log.exception("FacePop failed; the image is generated without FacePop")
        return None
    setattr(p, JOB_MARK, job)
    job.start()
    return job


def job_of(p: Any) -> FacePopJob | None:
    """The job FacePop is working on with this very `p` (a copy of it has none)."""
    job = getattr(p, JOB_MARK, None)
    return job if job is not None and job.p is p else None


def end_job(p: Any) -> None:
    """Called from ``postprocess``: nothing of this job survives into the next. The
    postprocess of a copy of the job (ADetailer closes scripts' jobs on copies) ends
    nothing."""
    job = job_of(p)
    if job is not None:
        job.end()


class FacePopJob:
    def __init__(self, p: Any, settings: FacePopSettings, host: HostServices) -> None:
        self.p = p
        self.settings = settings
        self.host = host
        self.carried = CarriedFields.capture(p)
        self.user_args = p.script_args
        self.controlnet = ControlNetUnits.of(p, settings.face_pass_controlnet_units)
        self.slots: list[_Slot] = []
        self.user_mask: np.ndarray | None = None
        self.failed = False
        self.stopped = False
        self.outputs = WebUIOutputs(p, settings, host.images, host.samples_format)
        self.detector: FaceDetector | None = None
        self.mask_source: MaskSource | None = None
        self.faces_info = PerImageInfotext(default="0")
        self.masks_info = PerImageInfotext()
        self.added_infotext: tuple[str, ...] = ()
        self.face_batching = FaceBatching(self._faces_per_pass(), host.state,
                                          host.free_memory)

    # --- hooks ----------------------------------------------------------------------------
    def start(self) -> None:
        # Before the main pass has begun, a failure puts the job back exactly as it was.
        self._guarded(self._start, on_failure=self._put_back)

    def before_batch(self, batch_number: int) -> None:
        """Face passes for a batch. If those of the first batch fail, the job is put back
        as it was (and prepared again); if a later batch's fail, it keeps the faces of the
        batch before."""
        if self.failed or self.stopped:
            return
        if self._has_faces():
            put_back = self._put_back_and_prepare if batch_number == 0 else None
            self._guarded(lambda: self._apply_batch(batch_number), on_failure=put_back)
        elif batch_number == 0 and self.p.script_args is not self.user_args:
            # No face, but units only for faces: ControlNet must hook the main pass without
            # them (its process may have run before FacePop's).
            self._guarded(self._hook_main_pass_again, on_failure=None)

    def end(self) -> None:
        """Put back what FacePop changed on the job's `p`, and forget the job."""
        if getattr(self.p, JOB_MARK, None) is self:
            setattr(self.p, JOB_MARK, None)
        try:
            self.carried.restore(self.p, self.added_infotext)
        except Exception:
            log.exception("FacePop could not put the job's settings back")

    # --- steps ----------------------------------------------------------------------------
    def _start(self) -> None:
        p = self.p
        # One detector and mask source for the whole job; each face pass only differs in
        # its processor.
        self.detector = create_detector(self.settings)
        self.mask_source = create_mask_source(self.settings, models_dir=self.host.models_dir)
        entries = {**infotext_fields(self.settings), VERSION_KEY: __version__,
                   FACES_KEY: self.faces_info, MASKS_KEY: self.masks_info}
        # A dict of the job's own: copies of p (X/Y/Z plot cells) share the one they had.
        p.extra_generation_params = {**p.extra_generation_params, **entries}
        self.added_infotext = tuple(entries)
        sources = self._source_images()
        self.user_mask = self._user_mask(sources[0].size)
        allowed = faces_allowed(self.user_mask, bool(p.inpainting_mask_invert))
        pipeline = self._pipeline(IdentityProcessor())
        analysed_by_source: dict[int, tuple[np.ndarray, PreparedImage]] = {}
        slot_count = int(p.batch_size) if len(sources) == 1 else len(sources)
        for position in range(slot_count):
            source = sources[0] if len(sources) == 1 else sources[position]
            if id(source) not in analysed_by_source:
                rgb = np.asarray(self._flatten(source))
                analysed_by_source[id(source)] = rgb, pipeline.analyse(rgb, self.settings,
                                                                      allowed)
            rgb, analysed = analysed_by_source[id(source)]
            self.slots.append(_Slot(position, rgb, analysed))
        if self.controlnet is not None:
            p.script_args = self.controlnet.main_pass_args(self.user_args)
        if not self._has_faces():
            log.info("FacePop: no face to process in this job")
            return
        self._count_face_passes()

    def _apply_batch(self, batch_number: int) -> None:
        p = self.p
        composites: list[np.ndarray] = []
        face_mask: np.ndarray | None = None
        with set_aside(p):
            for slot in self.slots:
                composite, mask = self._process_slot(slot, batch_number)
                composites.append(composite)
                face_mask = mask if face_mask is None else np.maximum(face_mask, mask)
                if self.stopped:
                    return
            p.init_images = [Image.fromarray(image) for image in composites]
            if face_mask is not None and face_mask.any():
                self._protect_faces(face_mask)
            else:  # no face processed in this batch: nothing to protect
                self.carried.restore_mask(p)
        self._prepare_main_pass()

    def _hook_main_pass_again(self) -> None:
        with set_aside(self.p):
            pass

    def _prepare_main_pass(self) -> None:
        """The WebUI's own preparation of the main pass (init images, mask), again."""
        p = self.p
        with self.host.autocast():
            p.init(p.all_prompts, p.all_seeds, p.all_subseeds)

    def _process_slot(self, slot: _Slot, batch_number: int) -> tuple[np.ndarray, np.ndarray]:
        analysed = slot.analysed
        empty = np.zeros(analysed.image.shape[:2], dtype=np.float32)
        if not analysed.faces:
            return analysed.image, empty
        p = self.p
        # The batch's own prompts and seeds, as the WebUI samples them: p.prompts etc. hold
        # batch n's items, after every script's process() (comments gone, wildcards filled).
        item = batch_number * int(p.batch_size) + slot.position
        main = MainJob(prompt=p.prompts[slot.position],
                       negative_prompt=p.negative_prompts[slot.position],
                       seed=int(p.seeds[slot.position]))
        face_pass = WebUIFacePass(
            p, processing=self.host.processing, state=self.host.state,
            allowed_scripts=allowed_script_names(self.settings.face_pass_scripts),
            subseed=int(p.subseeds[slot.position]), batching=self.face_batching,
            quiet=self.host.quiet_nested_pass, script_args_for=self._face_pass_args(slot),
            after_pass=lambda: self.host.token_merging(p))
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
        self._note_infotext(item, result)
        self.outputs.save_faces(result, face_pass.infotexts)
        self.outputs.save_debug(f"image{item + 1:03d}", result)
        return result.image, result.face_mask

    def _face_pass_args(self, slot: _Slot) -> Callable[[Sequence[FaceTask]], Any]:
        """The script args of a face pass over some faces of a slot's image."""

        def args_for(tasks: Sequence[FaceTask]) -> Any:
            if self.controlnet is None:
                return self.user_args
            cutter = (slot.analysed.faces[tasks[0].index].aligned.cut if len(tasks) == 1
                      else None)
            return self.controlnet.face_pass_args(self.user_args, slot.source, cutter)

        return args_for

    def _faces_per_pass(self) -> int:
        if self.controlnet is not None and self.controlnet.faces_one_per_pass(self.user_args):
            return 1
        return self.host.max_face_batch

    def _note_infotext(self, item: int, result: PipelineResult) -> None:
        self.faces_info.values[item] = str(len(result.faces))
        sources = sorted({processed.prepared.mask.source for processed in result.faces})
        if sources:
            self.masks_info.values[item] = ", ".join(sources)

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
        mask = self.carried.values["image_mask"]
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

    def _guarded(self, step: Callable[[], None], *,
                 on_failure: Callable[[], None] | None) -> None:
        try:
            step()
        except Exception:
            self.failed = True
            log.exception("FacePop failed; the image is generated without FacePop's face "
                          "pass")
            if on_failure is not None:
                try:
                    on_failure()
                except Exception:
                    log.exception("FacePop could not put the job's own images back")

    def _put_back(self) -> None:
        """The job as the user made it: its images, mask and script args."""
        self.carried.restore(self.p)

    def _put_back_and_prepare(self) -> None:
        """As _put_back, once the WebUI has prepared the main pass: prepared again."""
        self._put_back()
        self._prepare_main_pass()
