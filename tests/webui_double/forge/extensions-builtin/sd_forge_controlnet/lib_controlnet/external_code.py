"""Stands in for lib_controlnet/external_code.py (Forge's built-in ControlNet): the
ControlNetUnit dataclass with Forge's fields and defaults (enabled True; image, image_fg,
mask_image, mask_image_fg: what the canvas gives, numpy arrays, the *_fg layers RGBA with
the drawing in alpha; save_detected_map True) and from_dict(), which keeps only known keys
and decodes a base64 `image` and `mask_image` (not the *_fg layers), as Forge's does.
Batch input modes, enums and resize modes are left out (resize_mode is kept as given).
"""

import base64
import io
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from PIL import Image


def _decoded(text):
    data = text.split(",", 1)[1] if text.startswith("data:") else text
    return np.array(Image.open(io.BytesIO(base64.b64decode(data)))).astype("uint8")


@dataclass
class ControlNetUnit:
    input_mode: str = "simple"
    use_preview_as_input: bool = False
    generated_image: Any = None
    mask_image: Any = None
    mask_image_fg: Any = None
    hr_option: str = "Both"
    enabled: bool = True
    module: str = "None"
    model: str = "None"
    weight: float = 1.0
    image: Any = None
    image_fg: Any = None
    resize_mode: Any = "Crop and Resize"
    processor_res: int = -1
    threshold_a: float = -1
    threshold_b: float = -1
    guidance_start: float = 0.0
    guidance_end: float = 1.0
    pixel_perfect: bool = False
    control_mode: str = "Balanced"
    save_detected_map: bool = True

    @staticmethod
    def from_dict(d):
        known = {f.name for f in fields(ControlNetUnit)}
        unit = ControlNetUnit(**{k: v for k, v in d.items() if k in known})
        if isinstance(unit.image, str):
            unit.image = _decoded(unit.image)
        if isinstance(unit.mask_image, str):
            unit.mask_image = _decoded(unit.mask_image)
        return unit
