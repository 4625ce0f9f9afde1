"""The face pass inside the WebUI: one nested img2img job for the faces of one image.

The nested job inherits everything from the user's job (model, sampler, scheduler,
steps, CFG, denoising, subseed, extra networks in the prompt ...) except what the face pass
overrides, runs only the always-on scripts allowed in a face pass (plus the WebUI's own
Comments script, so `#` comments in face prompts go as in the main prompt), and never
FacePop. The host resets token merging when a nested job ends (docs/design.md section 4,
item 9): the user's job gets its own ratio back after every face pass.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from lib_facepop.errors import FacePopError
from lib_facepop.processors import FacePassParams, FaceTask
from lib_facepop.webui.face_batch import FaceBatching, describe_error, is_out_of_memory

log = logging.getLogger(__name__)

NESTED_MARK = "facepop_nested"
"""Attribute set on the nested job, so FacePop's own hooks leave it alone."""
FACEPOP_TITLE = "facepop"


class FacePassInterruptedError(FacePopError):
    """The user pressed Interrupt during a face pass."""


class FacePassSkippedError(FacePopError):
    """The user pressed Skip during a face pass: this image keeps its faces as they were."""


class FaceSeeds(list):
    """The seeds of a face pass, one per face. Where a script takes the job's seed as one
    number (ControlNet seeds its preprocessors with int(p.seed)), it is the first face's."""

    def __int__(self) -> int:
        return int(self[0])


def allowed_script_names(setting: str) -> set[str]:
    return {name.strip().lower() for name in setting.split(",") if name.strip()}


def script_allowed(script: Any, allowed: set[str]) -> bool:
    """Whether an always-on script also runs in the face pass (never FacePop itself)."""
    title = str(script.title() if callable(getattr(script, "title", None)) else "").lower()
    if title == FACEPOP_TITLE:
        return False
    path = str(getattr(script, "filename", "") or "").replace("\\", "/").lower()
    stem = path.rsplit("/", 1)[-1].removesuffix(".py")
    extension_folder = path.rsplit("/scripts/", 1)[0].rsplit("/", 1)[-1] if "/scripts/" in path \
        else ""
    names = {title, stem, extension_folder}
    # the parts of the file's and the folder's names too ("sag" for sd_forge_sag/forge_sag)
    parts = {part for name in (stem, extension_folder) for part in re.split(r"[-_. ]+", name)}
    return any(name in names or name in title or name in parts for name in allowed)


def is_builtin_comments(script: Any) -> bool:
    """The WebUI's own "Comments" processing script (strips # comments from prompts)."""
    path = str(getattr(script, "filename", "") or "").replace("\\", "/").lower()
    return path.endswith("processing_scripts/comments.py")


def face_pass_runner(runner: Any, allowed: set[str]) -> Any:
    """A copy of the job's script runner whose always-on scripts are only the allowed ones.

    The copy shares script objects (and so the job's script args layout), but has its own
    callback cache, so the user's job keeps its full list.
    """
    if runner is None:
        return None
    nested = copy.copy(runner)
    nested.alwayson_scripts = [s for s in runner.alwayson_scripts
                               if script_allowed(s, allowed) or is_builtin_comments(s)]
    nested.callback_map = {}
    return nested


@dataclass(frozen=True)
class _OutOfMemory:
    """A face pass that ran out of memory, and the first line of its error."""

    reason: str


class WebUIFacePass:
    """A FaceProcessor that runs nested img2img jobs with the WebUI's own machinery."""

    name = "webui"

    def __init__(self, p: Any, *, processing: Any, state: Any, allowed_scripts: set[str],
                 subseed: int, batching: FaceBatching,
                 quiet: Callable[[], AbstractContextManager[Any]] = nullcontext,
                 script_args_for: Callable[[Sequence[FaceTask]], Any] | None = None,
                 after_pass: Callable[[], None] | None = None,
                 default_denoising: float | None = None) -> None:
        self.p = p
        self.quiet = quiet
        self.processing = processing
        self.state = state
        self.allowed_scripts = allowed_scripts
        self.subseed = subseed
        self.batching = batching
        self.script_args_for = script_args_for
        self.after_pass = after_pass
        """Called after every nested job (the user's job's token merging goes back on)."""
        self.default_denoising = default_denoising
        """The denoising strength of a pass whose params give none (None: the job's own; a
        txt2img job has none for faces)."""
        self.infotexts: list[str] = []

    def process(self, tasks: Sequence[FaceTask], params: FacePassParams) -> list[np.ndarray]:
        """All faces, in passes of at most ``batching.limit``; a pass that runs out of
        memory is tried again in halves (see face_batch)."""
        if not tasks:
            return []
        batching = self.batching
        face_size = (tasks[0].image.shape[1], tasks[0].image.shape[0])
        batching.begin_image(len(tasks))
        outputs: list[np.ndarray] = []
        while len(outputs) < len(tasks):
            remaining = len(tasks) - len(outputs)
            size = batching.batch_size(remaining)
            result = self._try(tasks[len(outputs):len(outputs) + size], params)
            if isinstance(result, _OutOfMemory):
                # Retried here, outside the except clause: the failed pass's traceback (and
                # the tensors its frames hold) is gone by now.
                batching.out_of_memory(size, remaining, face_size, result.reason)
                continue
            batching.succeeded(face_size)
            outputs += result
        return outputs

    def _try(self, tasks: Sequence[FaceTask], params: FacePassParams
             ) -> list[np.ndarray] | _OutOfMemory:
        try:
            return self._run(tasks, params)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            return _OutOfMemory(describe_error(exc))

    def _run(self, tasks: Sequence[FaceTask], params: FacePassParams) -> list[np.ndarray]:
        if self.state.interrupted or getattr(self.state, "stopping_generation", False):
            raise FacePassInterruptedError("interrupted before the face pass")
        nested = self.nested_job(tasks, params)
        try:
            with self.quiet():
                processed = self.processing.process_images(nested)
        finally:
            close = getattr(nested, "close", None)
            if callable(close):
                close()
            if self.after_pass is not None:
                self.after_pass()
        if self.state.interrupted:
            raise FacePassInterruptedError("interrupted during the face pass")
        if self.state.skipped:
            self.state.skipped = False
            raise FacePassSkippedError("skipped during the face pass")
        images = list(processed.images)
        if len(images) < len(tasks):
            raise FacePopError(f"the face pass returned {len(images)} images for "
                               f"{len(tasks)} faces")
        self.infotexts += list(processed.infotexts[:len(tasks)])
        return [np.asarray(image.convert("RGB")) for image in images[:len(tasks)]]

    def _denoising(self, params: FacePassParams) -> float:
        for value in (params.denoising_strength, self.default_denoising):
            if value is not None:
                return value
        return self.p.denoising_strength

    def nested_job(self, tasks: Sequence[FaceTask], params: FacePassParams) -> Any:
        """The nested img2img job for these faces (one batch item per face)."""
        p = self.p
        height, width = tasks[0].image.shape[:2]
        fields: dict[str, Any] = {
            "prompt": [task.prompt for task in tasks],
            "negative_prompt": [task.negative_prompt for task in tasks],
            "seed": FaceSeeds(task.seed for task in tasks),
            "subseed": self.subseed,
            "subseed_strength": p.subseed_strength,
            "seed_resize_from_h": p.seed_resize_from_h,
            "seed_resize_from_w": p.seed_resize_from_w,
            "sampler_name": p.sampler_name,
            "scheduler": getattr(p, "scheduler", None),
            "batch_size": len(tasks),
            "n_iter": 1,
            "steps": params.steps if params.steps is not None else p.steps,
            "cfg_scale": params.cfg_scale if params.cfg_scale is not None else p.cfg_scale,
            "width": width,
            "height": height,
            "denoising_strength": self._denoising(params),
        }
        # Forge: Flux's "Distilled CFG Scale" (docs/design.md section 4a), the face pass's
        # own with separate face processing, else the job's; A1111 jobs have no such field
        # (and would refuse it).
        if hasattr(p, "distilled_cfg_scale"):
            fields["distilled_cfg_scale"] = (
                params.distilled_cfg_scale if params.distilled_cfg_scale is not None
                else p.distilled_cfg_scale)
        nested = self.processing.StableDiffusionProcessingImg2Img(
            sd_model=p.sd_model,
            outpath_samples=p.outpath_samples,
            outpath_grids=p.outpath_grids,
            styles=[],
            restore_faces=False,
            tiling=p.tiling,
            do_not_save_samples=True,
            do_not_save_grid=True,
            init_images=[Image.fromarray(task.image) for task in tasks],
            resize_mode=0,
            image_cfg_scale=getattr(p, "image_cfg_scale", None),
            initial_noise_multiplier=getattr(p, "initial_noise_multiplier", None),
            mask=None,
            override_settings={},
            override_settings_restore_afterwards=False,
            **fields,
        )
        setattr(nested, NESTED_MARK, True)
        # The job's mode first: assigning scripts and args runs the allowed scripts' setup(),
        # which behaves differently for UI and API jobs.
        nested.is_api = getattr(p, "is_api", False)
        nested.scripts = face_pass_runner(
            p.scripts, self.allowed_scripts if params.always_on_scripts else set())
        own_args = self.script_args_for is not None and params.always_on_scripts
        nested.script_args = self.script_args_for(tasks) if own_args else p.script_args
        return nested
