"""The interface every face-mask source implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from lib_facepop.align import AlignedFace
from lib_facepop.settings import FacePopSettings


@dataclass(frozen=True)
class FaceMask:
    """A soft mask in the aligned frame of one face.

    ``mask`` is float32 (H, W) in [0, 1]: 1 where the processed face replaces the source.
    ``layers`` holds the named intermediate pictures (e.g. "region", "matte") for the
    debugging folder; ``source`` says which mask source made it.
    """

    mask: np.ndarray
    source: str
    layers: dict[str, np.ndarray] = field(default_factory=dict)
    person: np.ndarray | None = None
    """Where the person is (float32 [0, 1]) when the source knows it, for background removal."""


class MaskSource(Protocol):
    """Turns an aligned face into its blending mask."""

    name: str

    def make_mask(self, aligned: AlignedFace, settings: FacePopSettings) -> FaceMask:
        ...
