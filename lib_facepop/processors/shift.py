"""A stand-in for a face pass that shifts colour and brightness, as diffusion passes often
do a little; used to measure colour match (tests, bench/bench_colour_match.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lib_facepop.processors.base import FacePassParams, FaceProcessor, FaceTask


@dataclass(frozen=True)
class ColourShift:
    """out = gain * (saturation-mixed face ** gamma) + offset, per RGB channel."""

    name: str
    gain: tuple[float, float, float] = (1.0, 1.0, 1.0)
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    saturation: float = 1.0
    gamma: float = 1.0

    def apply(self, image: np.ndarray) -> np.ndarray:
        rgb = 255.0 * (image.astype(np.float32) / 255.0) ** self.gamma
        grey = rgb.mean(axis=2, keepdims=True)
        mixed = grey + self.saturation * (rgb - grey)
        shifted = mixed * np.asarray(self.gain, np.float32) + np.asarray(self.offset,
                                                                         np.float32)
        return np.clip(np.rint(shifted), 0, 255).astype(np.uint8)


SHIFTS = (
    ColourShift("warm, darker", gain=(0.85, 0.85, 0.85), offset=(20, 4, -12)),
    ColourShift("cool, brighter", gain=(1.08, 1.08, 1.08), offset=(-12, 0, 16)),
    ColourShift("grey cast", saturation=0.55, offset=(14, 14, 14)),
    ColourShift("green tint", offset=(-6, 14, -6)),
    ColourShift("darker midtones (gamma 1.3)", gamma=1.3),
)


class ColourShiftProcessor:
    """Runs ``inner`` (identity by default), then shifts every face's colour."""

    def __init__(self, shift: ColourShift, inner: FaceProcessor | None = None) -> None:
        self.shift = shift
        self.inner = inner
        self.name = f"shift:{shift.name}"

    def process(self, tasks: Sequence[FaceTask], params: FacePassParams) -> list[np.ndarray]:
        faces = (self.inner.process(tasks, params) if self.inner is not None
                 else [task.image for task in tasks])
        return [self.shift.apply(face) for face in faces]
