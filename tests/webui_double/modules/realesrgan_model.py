"""Stands in for modules/realesrgan_model.py (A1111 v1.10.1): a model upscaler in
shared.sd_upscalers, "R-ESRGAN 4x+" (one of the host's default enabled RealESRGAN models),
its data_path the model file under models/RealESRGAN.

Not the host's model: do_upscale(img, path) enlarges 4x with NEAREST and inverts every
colour (255 - value), so its work is recognisable in a picture (two calls invert twice).
Each call is recorded in `upscale_calls` (test scaffolding): the size it got and `path`.
As in the host, Upscaler.upscale() calls it until the target size is reached (a scale of
at most 4: once) and then resizes with LANCZOS to the target rounded down to 8 px.
"""

import os

import numpy as np
from PIL import Image

from modules import paths_internal
from modules.upscaler import NEAREST, Upscaler, UpscalerData

upscale_calls: list[dict] = []
"""Test scaffolding: {"size": (w, h) of the image do_upscale got, "path": its model}."""


class UpscalerRealESRGAN(Upscaler):
    def __init__(self, path):
        self.name = "RealESRGAN"
        self.user_path = path
        super().__init__()
        model = os.path.join(paths_internal.models_path, "RealESRGAN", "RealESRGAN_x4plus.pth")
        self.scalers = [UpscalerData("R-ESRGAN 4x+", model, self, 4)]

    def do_upscale(self, img, path):
        upscale_calls.append({"size": img.size, "path": path})
        enlarged = img.convert("RGB").resize((img.width * 4, img.height * 4), resample=NEAREST)
        return Image.fromarray(255 - np.asarray(enlarged))
