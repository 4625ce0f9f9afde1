"""Keeping the main img2img pass off the faces, combined with a user's own inpaint mask.

Masks here are float arrays in [0, 1] at the init image's size. A WebUI inpaint mask is
white where the main pass may work; with "inpaint not masked" the host inverts it first.
"""

from __future__ import annotations

import numpy as np

FILL_ORIGINAL = 1
"""The WebUI's "Masked content: original": the main pass starts from the image everywhere,
which is what it gets when FacePop's mask is the only one."""


def effective_region(user_mask: np.ndarray | None, invert: bool) -> np.ndarray | None:
    """Where the main pass works according to the user alone (None = everywhere)."""
    if user_mask is None:
        return None
    mask = np.clip(np.asarray(user_mask, dtype=np.float32), 0.0, 1.0)
    return 1.0 - mask if invert else mask


def faces_allowed(user_mask: np.ndarray | None, invert: bool) -> np.ndarray | None:
    """Where faces may be processed: where the user lets the main pass work."""
    region = effective_region(user_mask, invert)
    return None if region is None else region >= 0.5


def main_pass_mask(face_mask: np.ndarray, user_mask: np.ndarray | None,
                   invert: bool) -> np.ndarray:
    """The mask to give the host, in the user's own convention (before the host inverts).

    The main pass then works where the user asked it to, except on the faces: every pixel
    is processed by exactly one pass, with a soft seam between them.
    """
    keep_off_faces = 1.0 - np.clip(np.asarray(face_mask, dtype=np.float32), 0.0, 1.0)
    region = effective_region(user_mask, invert)
    effective = keep_off_faces if region is None else np.minimum(region, keep_off_faces)
    return 1.0 - effective if invert else effective

