"""Stands in for modules/upscaler.py (A1111 v1.10.1): Upscaler, UpscalerData and the
built-in "None", "Lanczos" and "Nearest" upscalers.

As in the host: Upscaler.upscale(img, scale, selected_model) aims at the size scaled by
`scale` and rounded DOWN to a multiple of 8 on each side; it calls do_upscale() (which
enlarges by the model's own factor, or by self.scale) up to three times until the image
is at least that big, stopping early when Interrupt is set or when do_upscale() leaves
the size as it was, then resizes to exactly that size with LANCZOS. An UpscalerData
(name, path, upscaler, scale) is one entry of shared.sd_upscalers: `scaler` is its
Upscaler, `data_path` its model file (None for the built-ins), passed to upscale() as
`selected_model` by the host's callers. UpscalerNone's do_upscale() returns the image as
it is; Lanczos and Nearest resize by self.scale. Left out: tiling options, model folders,
find_models().
"""

from PIL import Image

from modules import shared

LANCZOS = Image.Resampling.LANCZOS
NEAREST = Image.Resampling.NEAREST


class Upscaler:
    name = None
    scalers: list

    def __init__(self, create_dirs=False):
        self.scale = 1
        self.model_download_path = None

    def do_upscale(self, img, selected_model):
        return img

    def load_model(self, path):
        """Nothing to load in the double."""

    def upscale(self, img, scale, selected_model=None):
        self.scale = scale
        target = (int(img.width * scale // 8 * 8), int(img.height * scale // 8 * 8))
        for attempt in range(3):
            large_enough = img.width >= target[0] and img.height >= target[1]
            if (large_enough and (attempt > 0 or scale != 1)) or shared.state.interrupted:
                break
            before = img.size
            img = self.do_upscale(img, selected_model)
            if img.size == before:
                break
        return img if img.size == target else img.resize(target, resample=LANCZOS)


class UpscalerData:
    def __init__(self, name, path, upscaler=None, scale=4, model=None):
        self.name, self.data_path, self.local_data_path = name, path, path
        self.scaler, self.scale, self.model = upscaler, scale, model

    def __repr__(self):
        return f"<UpscalerData name={self.name} path={self.data_path} scale={self.scale}>"


class _Resampling(Upscaler):
    """A built-in that resizes by self.scale with one PIL filter (None: not at all)."""

    resample = None

    def __init__(self, dirname=None):
        super().__init__(False)
        self.scalers = [UpscalerData(self.name, None, self)]

    def do_upscale(self, img, selected_model=None):
        if self.resample is None:
            return img
        size = (int(img.width * self.scale), int(img.height * self.scale))
        return img.resize(size, resample=self.resample)


class UpscalerNone(_Resampling):
    name = "None"


class UpscalerLanczos(_Resampling):
    name, resample = "Lanczos", LANCZOS


class UpscalerNearest(_Resampling):
    name, resample = "Nearest", NEAREST
