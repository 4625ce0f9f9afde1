"""Error types of the modnet package.

Every error the package raises on purpose derives from :class:`ModnetError`, so a caller that
only wants to fall back to another mask source can catch that one type.
"""

from __future__ import annotations

from pathlib import Path


class ModnetError(Exception):
    """Base class of every error raised on purpose by the modnet package."""


class ModnetModelError(ModnetError):
    """A model file (.onnx or .ckpt) is missing, unreadable, corrupt or not a MODNet.

    ``path`` names the offending file; the message names it too.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ModnetInputError(ModnetError, ValueError):
    """An image given to the matting session has the wrong type, shape or size."""


class ModnetDependencyError(ModnetError, ImportError):
    """A package needed for this operation (torch, onnx, onnxruntime) is not installed."""
