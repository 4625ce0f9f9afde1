"""Where FacePop's own files go inside the WebUI, written through the WebUI's image saver."""

from __future__ import annotations

import datetime
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from lib_facepop.debug import DebugFolder
from lib_facepop.pipeline import PipelineResult
from lib_facepop.settings import FacePopSettings

log = logging.getLogger(__name__)

DEFAULT_SUBFOLDER = "facepop"


def output_folder(settings: FacePopSettings, samples_folder: str,
                  today: datetime.date | None = None) -> Path:
    """The folder for processed faces and debugging folders.

    Blank: ``<the job's output folder>/facepop`` (the img2img or txt2img one). A relative
    path is taken inside the job's output folder; ``{date}`` becomes today's date
    (YYYY-MM-DD).
    """
    template = settings.output_folder.strip()
    if not template:
        return Path(samples_folder) / DEFAULT_SUBFOLDER
    date = (today or datetime.date.today()).isoformat()
    folder = Path(os.path.expanduser(template.replace("{date}", date)))
    return folder if folder.is_absolute() else Path(samples_folder) / folder


class WebUIOutputs:
    """Saves processed faces and debugging folders through ``modules.images.save_image``.

    Nothing is written when the job's saving is off (``p.save_samples()`` is false, as for
    API requests with save_images false).
    """

    def __init__(self, p: Any, settings: FacePopSettings, images_module: Any,
                 samples_format: str) -> None:
        self.p = p
        self.settings = settings
        self.images = images_module
        self.samples_format = samples_format
        self.folder = output_folder(settings, getattr(p, "outpath_samples", None) or "")

    @property
    def saving(self) -> bool:
        return bool(self.p.save_samples())

    def save_faces(self, result: PipelineResult, infotexts: list[str]) -> None:
        if not (self.settings.save_faces and self.saving):
            return
        for i, processed in enumerate(result.faces):
            info = infotexts[i] if i < len(infotexts) else None
            self.images.save_image(
                Image.fromarray(processed.output), str(self.folder), "facepop",
                seed=processed.task.seed, prompt=processed.task.prompt,
                extension=self.samples_format, info=info, p=self.p, suffix=f"-face{i:02d}")

    def save_debug(self, stem: str, result: PipelineResult) -> Path | None:
        if not self.settings.debug:
            return None
        if not self.saving:
            log.info("FacePop: saving is off for this job, so no debugging images are written")
            return None
        return DebugFolder(self.folder / "debug", writer=self._write_png).write(
            stem, result, self.settings)

    def _write_png(self, path: Path, image: np.ndarray) -> None:
        self.images.save_image(Image.fromarray(image), str(path.parent), "",
                               extension="png", forced_filename=path.stem,
                               save_to_dirs=False)
