"""The interface of whatever turns aligned faces into new faces."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


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
    """Sampling settings the face pass overrides; None means: as the main job."""

    steps: int | None = None
    cfg_scale: float | None = None
    denoising_strength: float | None = None


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
