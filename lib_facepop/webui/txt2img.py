"""FacePop's part of one txt2img generation in the WebUI (docs/design.md section 5).

* ``process``: read the settings; open the detector and mask source; add FacePop's
  infotext entries; turn ControlNet units meant only for faces off for the main pass.
* ``before_process_batch`` of the first batch: with such units, ControlNet hooks the main
  pass again without them (its ``process`` may have run before FacePop's).
* ``postprocess_image`` of every image (after sampling, the hires fix and the host's face
  restoration; before the host makes the image's infotext and saves it): find, align and
  mask the image's faces, add their passes to the progress count, run ONE batched face
  pass (an img2img job over the face crops, with the seed, subseed, prompt and negative
  prompt of the image's batch item) and what follows it (restore, eyes, colour match),
  and hand the composite back as the image. The job's stateful scripts (ControlNet, whose
  hook of the txt2img UNet is still on) are set aside around it.
* ``postprocess``: every field FacePop changed on `p` is put back.

There is no main pass to keep off the faces: the image is finished when FacePop gets it.
The face pass has no denoising strength of the job's to inherit (txt2img's is the hires
fix's), so it always takes the face denoising strength setting. Skip pressed during the
txt2img sampling of a batch leaves that batch's images as they are; Interrupt, and
Interrupt during a face pass, leave every later image as it is; a failure is logged once
and every later image of the job comes out as plain txt2img.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from PIL import Image

from lib_facepop.face_pass import MainJob
from lib_facepop.processors import IdentityProcessor
from lib_facepop.webui.job import FaceJob

log = logging.getLogger(__name__)


class Txt2ImgJob(FaceJob):
    """A txt2img job: the face pass on each generated image."""

    def start(self) -> None:
        self._guarded(self._open, on_failure=lambda: self.carried.restore(self.p))

    def before_batch(self, batch_number: int) -> None:
        if batch_number == 0 and not self.failed and self.p.script_args is not self.user_args:
            self._guarded(self._hook_main_pass_again, on_failure=None)

    def postprocess_image(self, pp: Any) -> None:
        if self.failed or self.stopped:
            return
        state = self.host.state
        if state.interrupted or getattr(state, "stopping_generation", False):
            self.stopped = True
            return
        if state.skipped:  # the user skipped this batch: its images stay as they are
            return
        self._guarded(lambda: self._process_image(pp), on_failure=None)

    def _process_image(self, pp: Any) -> None:
        p = self.p
        index = int(p.batch_index)
        item = int(p.iteration) * int(p.batch_size) + index
        image = pp.image
        source = np.asarray(self._flatten(image))
        analysed = self._pipeline(IdentityProcessor()).analyse(source, self.settings)
        if not analysed.faces:
            log.info("FacePop: no face to process in image %d", item + 1)
            return
        self._add_jobs(self.planned_passes(analysed))
        main = MainJob(prompt=p.prompts[index], negative_prompt=p.negative_prompts[index],
                       seed=int(p.seeds[index]))
        with self._set_aside():
            result = self._face_pass(analysed, source, item, main, int(p.subseeds[index]))
        if result is None:
            return
        processed = Image.fromarray(result.image)
        processed.info.update(image.info)
        pp.image = processed

    def _face_denoising(self) -> float | None:
        return self.settings.face_denoising_strength
