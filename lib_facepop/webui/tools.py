"""The WebUI's own face restorers and upscalers as FacePop's FaceTools (docs/design.md
section 2.1).

A1111 v1.10 keeps its restorers in ``shared.face_restorers`` (each with ``name()``,
"CodeFormer" or "GFPGAN", and ``restore(np_image)`` on an RGB uint8 array; CodeFormer's
also takes its fidelity as ``w``) and its upscalers in ``shared.sd_upscalers`` (each an
``UpscalerData`` with ``name`` and ``data_path``, whose ``scaler.upscale(img, scale,
data_path)`` enlarges a PIL image by ``scale``, rounded down to 8 px). Reading both lists
loads no model: a restorer or upscaler loads its model the first time it is used.

The host's restorers find the faces in what they get themselves (facexlib) and give back
the picture unchanged where they find none or their model does not load; FacePop hands
them the upright face crop, which is what their face finder expects.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from PIL import Image

from lib_facepop.notices import Notices
from lib_facepop.settings import DEFAULT_UPSCALER
from lib_facepop.tools import FaceTools
from lib_facepop.upscale import DIRECT

NO_UPSCALER = DIRECT.capitalize()
"""How the panel names FacePop's "no upscaler" (one resampling step)."""
FIDELITY_ARGUMENT = "w"
"""The keyword of CodeFormer's fidelity weight in the host's restore()."""


class WebUIRestorer:
    """A FaceRestorer backed by one of the host's face restorers."""

    def __init__(self, host_restorer: Any, notices: Notices) -> None:
        self.host_restorer = host_restorer
        self.name = str(host_restorer.name())
        self.notices = notices
        self.takes_fidelity = _accepts_keyword(host_restorer.restore, FIDELITY_ARGUMENT)

    def restore(self, image: np.ndarray, fidelity: float) -> np.ndarray:
        if self.takes_fidelity:
            restored = self.host_restorer.restore(image, **{FIDELITY_ARGUMENT: fidelity})
        else:
            restored = self.host_restorer.restore(image)
        restored = np.asarray(restored)
        if restored.shape == image.shape and np.array_equal(restored, image):
            self.notices.info(
                f"restorer-unchanged:{self.name}",
                "FacePop: %s gave a face back unchanged (its own face finder found no face "
                "in the crop, or its model did not load: see the WebUI's messages above)",
                self.name)
        return restored


class WebUIUpscaler:
    """An Upscaler backed by one entry of the host's ``shared.sd_upscalers``."""

    def __init__(self, upscaler_data: Any) -> None:
        self.data = upscaler_data
        self.name = str(upscaler_data.name)

    def upscale(self, image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        height, width = image.shape[:2]
        scale = max(size[0] / width, size[1] / height)
        enlarged = self.data.scaler.upscale(Image.fromarray(image), scale, self.data.data_path)
        return np.asarray(enlarged.convert("RGB"))


def face_tools(face_restorers: Iterable[Any], sd_upscalers: Iterable[Any],
               notices: Notices) -> FaceTools:
    """FaceTools from the host's lists: restorers keyed by the ``face_restoration`` values
    (their names in lower case), upscalers by their names, without the ones FacePop has
    itself (Lanczos, None)."""
    restorers: dict[str, WebUIRestorer] = {}
    for host_restorer in face_restorers:
        restorer = WebUIRestorer(host_restorer, notices)
        restorers.setdefault(restorer.name.lower(), restorer)
    upscalers = {name: WebUIUpscaler(data) for name, data in _host_upscalers(sd_upscalers)}
    return FaceTools(restorers=restorers, upscalers=upscalers)


def upscaler_names(sd_upscalers: Iterable[Any]) -> list[str]:
    """What the panel offers for small faces: FacePop's own Lanczos and None, then the
    host's other upscalers in the host's order."""
    return [DEFAULT_UPSCALER, NO_UPSCALER, *(name for name, _ in _host_upscalers(sd_upscalers))]


def _host_upscalers(sd_upscalers: Iterable[Any]) -> Iterator[tuple[str, Any]]:
    """(name, entry) of the host's upscalers other than FacePop's own, first of each name."""
    seen = {DEFAULT_UPSCALER.lower(), NO_UPSCALER.lower()}
    for data in sd_upscalers:
        name = str(getattr(data, "name", "") or "")
        key = name.strip().lower()
        if key and key not in seen:
            seen.add(key)
            yield name, data


def _accepts_keyword(function: Any, keyword: str) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == keyword or p.kind is inspect.Parameter.VAR_KEYWORD
               for p in parameters)
