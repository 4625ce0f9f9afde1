"""Stands in for modules/modelloader.py (A1111 v1.10.1): load_upscalers().

As in the host: one object of every Upscaler class (the built-ins, then the model
upscalers, here only the RealESRGAN stand-in of realesrgan_model.py), their scalers
gathered into shared.sd_upscalers, sorted by lower-case name with the built-in "None",
"Lanczos" and "Nearest" first (in that order). The double calls it when modules.shared is
first imported (the host: at start-up, before any UI or job). Left out: model downloads,
spandrel, command-line model folders.
"""

from modules import shared
from modules.upscaler import UpscalerLanczos, UpscalerNearest, UpscalerNone

_BUILT_IN = (UpscalerNone, UpscalerLanczos, UpscalerNearest)


def load_upscalers():
    from modules.realesrgan_model import UpscalerRealESRGAN

    found = [data for cls in (*_BUILT_IN, UpscalerRealESRGAN) for data in cls(None).scalers]
    shared.sd_upscalers = sorted(found, key=lambda data: "" if isinstance(
        data.scaler, _BUILT_IN) else data.name.lower())
