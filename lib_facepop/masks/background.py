"""Taking the background out of a face crop before its pass."""

from __future__ import annotations

import numpy as np

NEUTRAL_FILL = (127, 127, 127)


def replace_background(image: np.ndarray, person: np.ndarray,
                       fill: tuple[int, int, int] = NEUTRAL_FILL) -> np.ndarray:
    """The crop with everything outside the person (a [0, 1] matte) faded to a flat grey."""
    alpha = np.clip(np.asarray(person, dtype=np.float32), 0.0, 1.0)[:, :, None]
    flat = np.asarray(fill, dtype=np.float32)[None, None, :]
    mixed = image.astype(np.float32) * alpha + flat * (1.0 - alpha)
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
