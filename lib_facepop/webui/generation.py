"""FacePop's part of one img2img generation in the WebUI, and where each job starts
(txt2img: txt2img.py; what both share: job.py).

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

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from lib_facepop.errors import SettingsError
from lib_facepop.face_pass import MainJob
from lib_facepop.images import mask_to_uint8
from lib_facepop.pipeline import PreparedImage
from lib_facepop.processors import IdentityProcessor
from lib_facepop.protect import FILL_ORIGINAL, faces_allowed, main_pass_mask
from lib_facepop.settings import FacePopSettings
from lib_facepop.webui.face_pass import NESTED_MARK
from lib_facepop.webui.job import (
    JOB_MARK,
    FaceJob,
    HostServices,
    is_copy_of_a_running_job,
    job_of,
)
from lib_facepop.webui.txt2img import Txt2ImgJob
from lib_facepop.webui.xyz import apply_xyz_overrides

log = logging.getLogger(__name__)


@dataclass
class _Slot:
    """One batch position: which init image it starts from."""

    position: int
    source: np.ndarray
    analysed: PreparedImage


def start_job(p: Any, args: tuple, host: HostServices) -> FaceJob | None:
    """Called from the script's ``process`` hook: an img2img job for a job with init
    images, a txt2img job for a job without (docs/design.md section 5)."""
    if getattr(p, NESTED_MARK, False) or is_copy_of_a_running_job(p):
        return None
    stale = job_of(p)
    if stale is not None:  # the job before on this p ended without its postprocess
        stale.end()
    try:
        settings = apply_xyz_overrides(p, FacePopSettings.from_args(args))
    except SettingsError as exc:
        log.error("FacePop is off for this job: %s", exc)
        return None
    if not settings.enabled:
        return None
    if hasattr(p, "init_images"):
        if not p.init_images:
            return None
        kind: type[FaceJob] = FacePopJob
    else:
        kind = Txt2ImgJob
    try:
        job = kind(p, settings, host)
    except Exception:
        log.exception("FacePop failed; the image is generated without FacePop")
        return None
    setattr(p, JOB_MARK, job)
    job.start()
    return job


def end_job(p: Any) -> None:
    """Called from ``postprocess``: nothing of this job survives into the next."""
    job = job_of(p)
    if job is not None:
        job.end()


class FacePopJob(FaceJob):
    """An img2img job: face passes before each batch's main pass, which is kept off the
    faces."""

    def __init__(self, p: Any, settings: FacePopSettings, host: HostServices) -> None:
        super().__init__(p, settings, host)
        self.slots: list[_Slot] = []
        self.user_mask: np.ndarray | None = None
        self.planned_per_batch = 0
        self.user_mask_for_overlay: Any = None
        """The host's mask for the overlay as the user's own mask made it (None: no mask)."""
        self.user_overlay_mask_known = False

    # --- hooks ----------------------------------------------------------------------------
    def start(self) -> None:
        # Before the main pass has begun, a failure puts the job back exactly as it was.
        self._guarded(self._start, on_failure=self._put_back)

    def before_batch(self, batch_number: int) -> None:
        """Face passes for a batch. If those of the first batch fail, the job is put back
        as it was (and prepared again); if a later batch's fail, it keeps the faces of the
        batch before."""
        if batch_number == 0 and not self.user_overlay_mask_known:
            # The host's first init() made it from the user's mask, before FacePop's.
            self.user_mask_for_overlay = getattr(self.p, "mask_for_overlay", None)
            self.user_overlay_mask_known = True
        if self.failed or self.stopped:
            self._add_jobs(-self.planned_per_batch)  # passes that will not run
            return
        if self._has_faces():
            put_back = self._put_back_and_prepare if batch_number == 0 else None
            self._guarded(lambda: self._apply_batch(batch_number), on_failure=put_back)
        elif batch_number == 0 and self.p.script_args is not self.user_args:
            # No face, but units only for faces: ControlNet must hook the main pass without
            # them (its process may have run before FacePop's).
            self._guarded(self._hook_main_pass_again, on_failure=None)

    def mask_overlay(self, mask_args: Any) -> None:
        """"Return mask" / "Save mask" give the user the mask of their own job, never
        FacePop's protection of the faces (docs/design.md section 4, item 20)."""
        if self.user_overlay_mask_known:
            mask_args.mask_for_overlay = self.user_mask_for_overlay

    # --- steps ----------------------------------------------------------------------------
    def _start(self) -> None:
        p = self.p
        self._open()
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
        if not self._has_faces():
            log.info("FacePop: no face to process in this job")
            return
        self.planned_per_batch = sum(self.planned_passes(slot.analysed) for slot in self.slots)
        self._add_jobs(self.planned_per_batch * int(p.n_iter))

    def _apply_batch(self, batch_number: int) -> None:
        p = self.p
        composites: list[np.ndarray] = []
        face_mask: np.ndarray | None = None
        with self._set_aside():
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

    def _prepare_main_pass(self) -> None:
        """The WebUI's own preparation of the main pass (init images, mask), again. With
        "Apply color correction to img2img results" on, the host's colour target is made
        again too, from the images the main pass starts from (a second init() would keep
        the first one's, made from the pictures before the face pass; docs/design.md
        section 4, item 19)."""
        p = self.p
        if getattr(p, "color_corrections", None) is not None:
            p.color_corrections = None
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
        result = self._face_pass(analysed, slot.source, item, main,
                                 int(p.subseeds[slot.position]))
        if result is None:  # it gets plain img2img
            return analysed.image, empty
        return result.image, result.face_mask

    def _protect_faces(self, face_mask: np.ndarray) -> None:
        """Let the main pass work everywhere the user wants, except on the faces."""
        p = self.p
        # "Inpaint not masked" means something only with the user's own mask; without one
        # FacePop's mask is given as it is (and inpainting_mask_invert set to 0 below).
        invert = bool(p.inpainting_mask_invert) and self.user_mask is not None
        mask = main_pass_mask(face_mask, self.user_mask, invert)
        p.image_mask = Image.fromarray(mask_to_uint8(mask), mode="L")
        if self.user_mask is None:
            # FacePop's mask is the only one: keep plain img2img behaviour everywhere else.
            p.inpainting_fill = FILL_ORIGINAL
            p.inpaint_full_res = False
            p.inpainting_mask_invert = 0

    # --- helpers ----------------------------------------------------------------------------
    def _source_images(self) -> list[Image.Image]:
        images = list(self.p.init_images)
        sizes = {image.size for image in images}
        if len(sizes) > 1:
            raise ValueError(f"init images of one job must share a size, got {sorted(sizes)}")
        return images

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

    def _put_back(self) -> None:
        """The job as the user made it: its images, mask and script args."""
        self.carried.restore(self.p)

    def _put_back_and_prepare(self) -> None:
        """As _put_back, once the WebUI has prepared the main pass: prepared again."""
        self._put_back()
        self._prepare_main_pass()
