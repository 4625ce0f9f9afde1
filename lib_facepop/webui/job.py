"""What a FacePop job in the WebUI does in either tab: its state, the face pass of one
image, the infotext per image, the progress count and the guard around every step.

The img2img job (generation.py) runs face passes before each batch's main pass; the
txt2img job (txt2img.py) runs them on each generated image (docs/design.md section 5).
Both hold, for one generation: the settings, one detector and mask source, ONE Notices
(so a missing restorer or an unknown upscaler is said once per generation), the host's
face restorers and upscalers, the face batching, and what FacePop changed on `p`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from lib_facepop import __version__
from lib_facepop.detect import FaceDetector, create_detector
from lib_facepop.eyes import eyes_region
from lib_facepop.face_pass import MainJob
from lib_facepop.masks import MaskSource, create_mask_source
from lib_facepop.notices import Notices
from lib_facepop.pipeline import FacePipeline, PipelineResult, PreparedImage
from lib_facepop.processors import FaceTask
from lib_facepop.settings import INFOTEXT_PREFIX, FacePopSettings, infotext_fields
from lib_facepop.tools import FaceTools
from lib_facepop.webui.carried import CarriedFields
from lib_facepop.webui.controlnet_units import ControlNetUnits
from lib_facepop.webui.face_batch import FaceBatching, FacePassOutOfMemoryError
from lib_facepop.webui.face_pass import (
    FacePassInterruptedError,
    FacePassSkippedError,
    WebUIFacePass,
    allowed_script_names,
)
from lib_facepop.webui.outer_scripts import hook_main_pass_again, set_aside
from lib_facepop.webui.outputs import WebUIOutputs

log = logging.getLogger(__name__)

JOB_MARK = "facepop_job"
"""Attribute of the user's job that holds its FacePop job (state lives and dies with it)."""
VERSION_KEY = f"{INFOTEXT_PREFIX} version"
FACES_KEY = f"{INFOTEXT_PREFIX} faces"
MASKS_KEY = f"{INFOTEXT_PREFIX} mask used"


def _no_tools(_notices: Notices) -> FaceTools:
    return FaceTools()


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
    face_tools: Callable[[Notices], FaceTools] = field(default=_no_tools)
    """The host's face restorers and upscalers, made once per job (they say what goes
    wrong through the job's Notices)."""
    unet_patched_per_sampling: bool = False
    """Forge (and reForge): every sampling patches a fresh copy of the model objects, so
    scripts keep no hook on the UNet between samplings, only their own state, and token
    merging needs no putting back (docs/design.md section 4a)."""
    controlnet_preprocessors: Mapping[str, Any] | None = None
    """The host's ControlNet preprocessors by name, where it lists them (Forge)."""
    reference_attention_batches: bool = True
    """Whether the host's reference-only preprocessors work on a pass of several images
    (not in reForge: docs/forge.md)."""


class PerImageInfotext:
    """An infotext value per output image of the job (item = batch * batch size + index).

    The WebUI calls it with the locals of its create_infotext: while it saves the images
    of a batch, ``index`` is the image's place in the batch and ``p.iteration`` the
    batch; called with ``iteration`` or ``position_in_batch`` (an image saved before the
    hires fix), ``index`` counts over the whole job; for a grid (``use_main_prompt``) it
    is the first image's.
    """

    def __init__(self, default: str | None = None) -> None:
        self.values: dict[int, str] = {}
        self.default = default

    def __call__(self, index: int = 0, p: Any = None, iteration: int = 0,
                 position_in_batch: int = 0, use_main_prompt: bool = False,
                 **_context: Any) -> str | None:
        if use_main_prompt:
            item = 0
        elif iteration or position_in_batch or p is None:
            item = index
        else:
            item = int(getattr(p, "iteration", 0) or 0) * int(p.batch_size) + index
        return self.values.get(item, self.default)


def job_of(p: Any) -> FaceJob | None:
    """The FacePop job running on `p` itself. A shallow copy of a job's `p` (ADetailer
    closes and opens the other scripts' job on copies, in every image's postprocess_image)
    carries the job's mark but is not that job: None for it."""
    job = getattr(p, JOB_MARK, None)
    return job if job is not None and job.p is p else None


def is_copy_of_a_running_job(p: Any) -> bool:
    """Whether `p` is a shallow copy of a job FacePop is running (see job_of)."""
    job = getattr(p, JOB_MARK, None)
    return job is not None and job.p is not p and not job.ended


class FaceJob:
    """One generation's FacePop work on the user's job `p` (either tab)."""

    def __init__(self, p: Any, settings: FacePopSettings, host: HostServices) -> None:
        self.p = p
        self.settings = settings
        self.host = host
        self.carried = CarriedFields.capture(p)
        self.user_args = p.script_args
        self.controlnet = ControlNetUnits.of(p, settings.face_pass_controlnet_units,
                                             host.controlnet_preprocessors,
                                             host.reference_attention_batches)
        self.failed = False
        self.stopped = False
        self.ended = False
        self.outputs = WebUIOutputs(p, settings, host.images, host.samples_format)
        self.detector: FaceDetector | None = None
        self.mask_source: MaskSource | None = None
        self.faces_info = PerImageInfotext(default="0")
        self.masks_info = PerImageInfotext()
        self.added_infotext: tuple[str, ...] = ()
        self.notices = Notices()
        self.tools = host.face_tools(self.notices)
        self.face_batching = FaceBatching(self._faces_per_pass(), host.state,
                                          host.free_memory)

    # --- hooks (each tab's job overrides what it uses) ---------------------------------------
    def start(self) -> None:
        """From the script's ``process``."""

    def before_batch(self, batch_number: int) -> None:
        """From ``before_process_batch``."""

    def postprocess_image(self, pp: Any) -> None:
        """From ``postprocess_image``."""

    def mask_overlay(self, mask_args: Any) -> None:
        """From ``postprocess_maskoverlay`` (the mask the host returns or saves)."""

    def end(self) -> None:
        """Put back what FacePop changed on the job's `p`, and forget the job."""
        self.ended = True
        if getattr(self.p, JOB_MARK, None) is self:
            setattr(self.p, JOB_MARK, None)
        try:
            self.carried.restore(self.p, self.added_infotext)
        except Exception:
            log.exception("FacePop could not put the job's settings back")

    # --- shared steps ----------------------------------------------------------------------
    def _open(self) -> None:
        """The job's detector and mask source, and its infotext entries."""
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
        if self.controlnet is not None:
            p.script_args = self.controlnet.main_pass_args(self.user_args)

    def _face_pass(self, analysed: PreparedImage, source: np.ndarray, item: int,
                   main: MainJob, subseed: int) -> PipelineResult | None:
        """The face pass (and what follows it) of one image, item ``item`` of the job;
        None when the user skipped or interrupted it or it did not fit in memory."""
        p = self.p
        face_pass = WebUIFacePass(
            p, processing=self.host.processing, state=self.host.state,
            allowed_scripts=allowed_script_names(self.settings.face_pass_scripts),
            subseed=subseed, batching=self.face_batching, quiet=self.host.quiet_nested_pass,
            script_args_for=self._face_pass_args(source, analysed),
            after_pass=lambda: self.host.token_merging(p),
            default_denoising=self._face_denoising())
        self.host.state.textinfo = (f"FacePop: {len(analysed.faces)} face(s) of image "
                                    f"{item + 1}")
        try:
            with self._counted(analysed):
                result = self._pipeline(face_pass).finish(analysed, self.settings, main)
        except FacePassSkippedError:
            log.info("FacePop: face pass of image %d skipped", item + 1)
            return None
        except FacePassInterruptedError:
            self.stopped = True
            log.info("FacePop: interrupted")
            return None
        except FacePassOutOfMemoryError:  # said once, by the face batching
            return None
        self._note_infotext(item, result)
        self.outputs.save_faces(result, face_pass.infotexts)
        self.outputs.save_debug(f"image{item + 1:03d}", result)
        return result

    def _face_denoising(self) -> float | None:
        """The face pass's denoising strength when the settings give none (None: the
        job's)."""
        return None

    def _face_pass_args(self, source: np.ndarray, analysed: PreparedImage
                        ) -> Callable[[Sequence[FaceTask]], Any]:
        """The script args of a face pass over some faces of an image."""

        def args_for(tasks: Sequence[FaceTask]) -> Any:
            if self.controlnet is None:
                return self.user_args
            cutter = analysed.faces[tasks[0].index].aligned.cut if len(tasks) == 1 else None
            return self.controlnet.face_pass_args(self.user_args, source, cutter)

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

    def _hook_main_pass_again(self) -> None:
        """ControlNet takes the main pass's units again, without the units only for faces
        (its process may have run before FacePop's)."""
        hook_main_pass_again(self.p, self.host.unet_patched_per_sampling)

    def _set_aside(self) -> contextlib.AbstractContextManager[None]:
        """The job's stateful scripts set aside around a face pass (outer_scripts.py)."""
        return set_aside(self.p, self.host.unet_patched_per_sampling)

    # --- progress ---------------------------------------------------------------------------
    def planned_passes(self, analysed: PreparedImage) -> int:
        """The nested jobs one image's faces take: its face passes and, with the eyes
        pass on, its eyes passes (faces whose eyes the face mesh found)."""
        batching = self.face_batching
        passes = batching.counted_passes(len(analysed.faces))
        if self.settings.eyes_pass:
            eyes = sum(eyes_region(face.aligned, self.settings.eyes_size) is not None
                       for face in analysed.faces)
            passes += batching.counted_passes(eyes)
        return passes

    def _add_jobs(self, count: int) -> None:
        """Add to the WebUI's job count, so the progress bar includes FacePop's passes."""
        state = self.host.state
        if state.job_count == -1:
            state.job_count = int(self.p.n_iter)
        state.job_count = max(0, state.job_count + count)

    @contextlib.contextmanager
    def _counted(self, analysed: PreparedImage) -> Iterator[None]:
        """Around the passes of an image whose planned passes are in the job count: when
        it ends (done, skipped, failed), the count holds the passes that really ran."""
        state = self.host.state
        count_before, done_before = state.job_count, state.job_no
        try:
            yield
        finally:
            planned = self.planned_passes(analysed) + (state.job_count - count_before)
            ran = state.job_no - done_before
            if ran != planned and state.job_count >= 0:
                state.job_count = max(0, state.job_count + ran - planned)

    # --- helpers ----------------------------------------------------------------------------
    def _pipeline(self, processor: Any) -> FacePipeline:
        return FacePipeline(self.detector, self.mask_source, processor, tools=self.tools,
                            notices=self.notices)

    def _flatten(self, image: Image.Image) -> Image.Image:
        return self.host.images.flatten(image, self.host.background_colour)

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
