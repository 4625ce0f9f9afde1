"""What a host lends the pipeline: face restorers and upscalers, behind small protocols.

The core has no restorer model of its own and only plain resampling as an upscaler. A host
(the WebUI's restorers and upscalers, or a server's extras API) hands its own in a
``FaceTools`` bundle; the settings name which one a run uses.

A tool that fails is announced once and the pipeline goes on without it, except where the
failure is its host's (``ToolHostError``: a server that did not answer, or answered
wrongly): that one is let through, so the host can do the image elsewhere or fail it
rather than write a result that silently lacks what was asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


class ToolHostError(Exception):
    """A tool's host could not do the request (e.g. a WebUI server's extras API failed).

    The pipeline does not fall back for it but lets it through to the host.
    """


class Upscaler(Protocol):
    """Enlarges an upright face (or eyes) crop before its pass."""

    name: str

    def upscale(self, image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """``image`` (RGB uint8) enlarged to ``size`` (width, height).

        A result of another size (e.g. a fixed 4x model) is resized to ``size`` by the
        caller, which keeps the crop's map to the source exact.
        """
        ...


class FaceRestorer(Protocol):
    """Restores one upright face crop (CodeFormer, GFPGAN, ...)."""

    name: str

    def restore(self, image: np.ndarray, fidelity: float) -> np.ndarray:
        """The face (RGB uint8) restored, at its size.

        ``fidelity`` is CodeFormer's weight: 1 keeps the face as it is, 0 restores
        hardest; restorers without such a weight ignore it.
        """
        ...


@dataclass(frozen=True)
class FaceTools:
    """The restorers and upscalers a host offers.

    ``restorers`` is keyed by the ``face_restoration`` setting's values ("codeformer",
    "gfpgan"); ``upscalers`` by the names the host shows (matched ignoring case).
    """

    restorers: Mapping[str, FaceRestorer] = field(default_factory=dict)
    upscalers: Mapping[str, Upscaler] = field(default_factory=dict)
