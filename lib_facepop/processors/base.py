"""The interface of whatever turns aligned faces into new faces."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from lib_facepop.errors import FacePopError
from lib_facepop.images import to_rgb8


@dataclass(frozen=True)
class FaceTask:
    """One face of a face pass: its aligned picture and what to make of it."""

    index: int
    image: np.ndarray
    prompt: str
    negative_prompt: str
    seed: int


@dataclass(frozen=True)
class FacePassParams:
    """Sampling settings a pass overrides; None means: as the main job.

    The same processor runs the face pass and, with its own params, the eyes pass (its
    tasks carry the eyes' prompts).
    """

    steps: int | None = None
    cfg_scale: float | None = None
    denoising_strength: float | None = None
    distilled_cfg_scale: float | None = None
    """Flux's distilled guidance (a host whose jobs have one; others ignore it)."""
    always_on_scripts: bool = True
    """Whether the always-on scripts allowed in a face pass (e.g. ControlNet) run in this
    pass too. The eyes pass turns them off: a face reference (IP-Adapter) or a control
    image made for the whole picture would paint a face into an eyes crop."""


class FaceProcessor(Protocol):
    """Processes ALL faces of one image in one go (one batched pass, not one per face)."""

    name: str

    def process(self, tasks: Sequence[FaceTask], params: FacePassParams) -> list[np.ndarray]:
        """Return one RGB uint8 image per task, in task order, each of the task's size."""
        ...


class IdentityProcessor:
    """Returns every face unchanged: shows what detection, alignment and blending do."""

    name = "none"

    def process(self, tasks: Sequence[FaceTask], params: FacePassParams) -> list[np.ndarray]:
        return [task.image.copy() for task in tasks]


def conform_outputs(outputs: Sequence[np.ndarray], sizes: Sequence[tuple[int, int]],
                    name: str, what: str = "faces") -> list[np.ndarray]:
    """A processor's results as RGB uint8 at the (width, height) each task had (a host may
    round sizes or return RGBA); a wrong count is an error naming the processor."""
    if len(outputs) != len(sizes):
        raise FacePopError(f"face processor {name!r} returned {len(outputs)} {what} for "
                           f"{len(sizes)} inputs")
    conformed = []
    for i, (output, (width, height)) in enumerate(zip(outputs, sizes, strict=True)):
        image = to_rgb8(output, name=f"{what} {i} from processor {name!r}")
        if image.shape[:2] != (height, width):
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        conformed.append(image)
    return conformed
