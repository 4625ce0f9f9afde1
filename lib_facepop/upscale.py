"""Cutting a crop out upright, enlarging small ones with an upscaler.

A crop that is smaller than its output (a small face, or the eyes of a face) is cut out
upright at its own resolution and then enlarged by an ``Upscaler``: plain resampling can
only blur a 64 px face brought to 720 px, a model upscaler can add detail. The enlargement
resizes the whole native cut to the output size, which is a pure scaling, so the crop's map
from the source stays ``crop.to_aligned()`` and its inverse stays exact for paste-back.
"""

from __future__ import annotations

import cv2
import numpy as np

from lib_facepop.geometry import FaceCrop
from lib_facepop.images import to_rgb8
from lib_facepop.notices import Notices
from lib_facepop.settings import DEFAULT_UPSCALER
from lib_facepop.tools import FaceTools, ToolHostError, Upscaler
from lib_facepop.warp import warp

# Upscaler names FacePop handles itself (compared ignoring case); "none" means one bicubic
# resampling step from the source straight to the output size.
DIRECT = "none"


class LanczosUpscaler:
    """Lanczos resampling (8x8 kernel): sharper than bicubic, no model needed."""

    name = DEFAULT_UPSCALER

    def upscale(self, image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        return cv2.resize(image, (int(size[0]), int(size[1])), interpolation=cv2.INTER_LANCZOS4)


def is_builtin_upscaler(name: str) -> bool:
    """Whether FacePop enlarges with ``name`` itself (blank, "Lanczos", "None"), without a
    host's upscaler."""
    return name.strip().lower() in ("", DEFAULT_UPSCALER.lower(), DIRECT)


def resolve_upscaler(name: str, tools: FaceTools, notices: Notices) -> Upscaler | None:
    """The upscaler the setting names; None for "None" (one resampling step).

    Blank and "Lanczos" are the built-in Lanczos; any other name is looked up among the
    host's upscalers, and a name the host does not know falls back to Lanczos, said once.
    """
    wanted = name.strip().lower()
    if wanted in ("", DEFAULT_UPSCALER.lower()):
        return LanczosUpscaler()
    if wanted == DIRECT:
        return None
    for host_name, upscaler in tools.upscalers.items():
        if host_name.strip().lower() == wanted:
            return upscaler
    known = ", ".join([DEFAULT_UPSCALER, "None", *sorted(tools.upscalers)])
    notices.warning(f"upscaler-unknown:{wanted}",
                    "FacePop: upscaler %r is not available here (known here: %s); faces "
                    "are enlarged with Lanczos", name, known)
    return LanczosUpscaler()


def enlarges(crop: FaceCrop) -> bool:
    """Whether the crop's output has more pixels along either axis than the crop covers."""
    return crop.output_size[0] > crop.size[0] or crop.output_size[1] > crop.size[1]


def cut_upright(image: np.ndarray, crop: FaceCrop, upscaler: Upscaler | None,
                notices: Notices) -> tuple[np.ndarray, str | None]:
    """The crop of ``image`` upright at ``crop.output_size``, and the upscaler that
    enlarged it (None when it was resampled in one step).

    Parts of the crop beyond the image border are mirrored in. An upscaler that fails is
    announced once and Lanczos takes over; a failure of its host (``ToolHostError``) is
    raised.
    """
    if upscaler is None or not enlarges(crop):
        return warp(image, crop.to_aligned(), crop.output_size, border="reflect",
                    interpolation="cubic"), None
    native_size = (max(1, int(round(crop.size[0]))), max(1, int(round(crop.size[1]))))
    native_crop = FaceCrop(center=crop.center, size=crop.size, angle=crop.angle,
                           output_size=native_size)
    native = warp(image, native_crop.to_aligned(), native_size, border="reflect",
                  interpolation="cubic")
    try:
        enlarged = to_rgb8(upscaler.upscale(native, crop.output_size),
                           name=f"upscaler {upscaler.name!r}")
        used = upscaler.name
    except ToolHostError:
        raise
    except Exception as exc:
        notices.warning(f"upscaler-failed:{upscaler.name}",
                        "FacePop: upscaler %r failed (%s); faces are enlarged with Lanczos "
                        "instead", upscaler.name, exc)
        fallback = LanczosUpscaler()
        enlarged, used = fallback.upscale(native, crop.output_size), fallback.name
    return conform_size(enlarged, crop.output_size), used


def conform_size(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` resized to ``size`` (width, height) if it has another size."""
    width, height = int(size[0]), int(size[1])
    if image.shape[:2] == (height, width):
        return image
    shrinking = image.shape[1] > width and image.shape[0] > height
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LANCZOS4
    return cv2.resize(image, (width, height), interpolation=interpolation)
