"""Face restoration and upscaling on a WebUI server, through its extras API (A1111 v1.10
``/sdapi/v1/extra-single-image``; docs/design.md section 3.4).

What a server has is asked once (``ServerOffer.ask``: its face restorers and upscalers by
the names it shows); ``server_tools`` then lends the pipeline one ``FaceRestorer`` per
restorer it has and one ``Upscaler`` per upscaler, each a request to that server:

* restoration: the upright face crop, no upscaler (``upscaler_1`` "None", factor 1), the
  restorer's visibility 1 and the other's 0, CodeFormer's weight; the pipeline mixes the
  result in at ``restore_visibility`` itself, as it does with any restorer.
* upscaling: the upright crop at its own resolution, ``upscaler_1`` = the server's name,
  "upscale to" the face size without "crop to fit". The server scales by the larger of the
  two ratios and rounds down to its 8 px grid; the pipeline resizes the result to the face
  size, a pure scaling, so the crop's map from the source stays exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lib_facepop.api_client.server import (
    FACE_RESTORERS_ROUTE,
    LATENT_GRID,
    UPSCALERS_ROUTE,
    ServerError,
    ServerRefusedError,
    WebUIServer,
    encode_png,
)
from lib_facepop.tools import FaceTools
from lib_facepop.upscale import is_builtin_upscaler

RESTORER_NAMES = {"codeformer": "CodeFormer", "gfpgan": "GFPGAN"}
"""``face_restoration`` values -> the names the WebUI gives its face restorers."""
_VISIBILITY_FIELDS = {"codeformer": "codeformer_visibility", "gfpgan": "gfpgan_visibility"}
_NO_UPSCALER = "None"


class NoExtrasApiError(ServerError):
    """A server answers a route of the extras API with HTTP 404: it has no extras API (a
    WebUI before it, a fork without it, or a proxy that forwards only img2img)."""

    def __init__(self, url: str, route: str) -> None:
        super().__init__(url, f"it has no {route} (HTTP 404: no extras API; an older WebUI, "
                              f"a fork, or a proxy that forwards only img2img)")
        self.route = route


@dataclass(frozen=True)
class ServerOffer:
    """The face restorers and upscalers one server has, by the names it shows."""

    restorers: tuple[str, ...] = ()
    upscalers: tuple[str, ...] = ()

    @classmethod
    def ask(cls, server: WebUIServer) -> ServerOffer:
        """What ``server`` has; NoExtrasApiError when it has no extras API, ServerError
        when it does not answer (or answers wrongly)."""
        return cls(tuple(_listed(server, FACE_RESTORERS_ROUTE)),
                   tuple(_listed(server, UPSCALERS_ROUTE)))

    def restorer(self, value: str) -> str | None:
        """The server's name of the restorer a ``face_restoration`` value asks for."""
        wanted = RESTORER_NAMES.get(value, "").lower()
        return next((name for name in self.restorers if name.lower() == wanted), None)

    def upscaler(self, name: str) -> str | None:
        """The server's own spelling of an upscaler name (matched ignoring case)."""
        wanted = name.strip().lower()
        return next((own for own in self.upscalers if own.lower() == wanted), None)

    @property
    def model_upscalers(self) -> tuple[str, ...]:
        """The server's upscalers less those FacePop has itself (Lanczos, None)."""
        return tuple(name for name in self.upscalers if not is_builtin_upscaler(name))


def _listed(server: WebUIServer, route: str) -> list[str]:
    try:
        return server.names(route)
    except ServerRefusedError as exc:
        if exc.status == 404:  # the probe before it was answered: the API is there
            raise NoExtrasApiError(server.url, route) from None
        raise


def server_tools(server: WebUIServer, offer: ServerOffer) -> FaceTools:
    """The restorers and upscalers of ``server`` as the pipeline's tools."""
    restorers = {value: ExtrasRestorer(server, value, own)
                 for value in RESTORER_NAMES if (own := offer.restorer(value)) is not None}
    upscalers = {name: ExtrasUpscaler(server, name) for name in offer.model_upscalers}
    return FaceTools(restorers=restorers, upscalers=upscalers)


class ExtrasRestorer:
    """A face restorer of a server (CodeFormer, GFPGAN) through its extras API."""

    def __init__(self, server: WebUIServer, value: str, name: str | None = None) -> None:
        self.server = server
        self.value = value
        self.name = name or RESTORER_NAMES[value]

    def restore(self, image: np.ndarray, fidelity: float) -> np.ndarray:
        height, width = image.shape[:2]
        body = _extras_body(image)
        for value, visibility in _VISIBILITY_FIELDS.items():
            body[visibility] = 1.0 if value == self.value else 0.0
        body.update({"codeformer_weight": float(fidelity), "resize_mode": 0,
                     "upscaling_resize": 1, "upscaler_1": _NO_UPSCALER})
        return self.server.extras(body, [(width, height)], self.name)


class ExtrasUpscaler:
    """An upscaler of a server (ESRGAN, R-ESRGAN, ...) through its extras API."""

    def __init__(self, server: WebUIServer, name: str) -> None:
        self.server = server
        self.name = name

    def upscale(self, image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        height, width = image.shape[:2]
        target = (int(size[0]), int(size[1]))
        body = _extras_body(image)
        body.update({"resize_mode": 1, "upscaling_resize_w": target[0],
                     "upscaling_resize_h": target[1], "upscaling_crop": False,
                     "upscaler_1": self.name, "gfpgan_visibility": 0.0,
                     "codeformer_visibility": 0.0})
        return self.server.extras(body, upscaled_sizes((width, height), target),
                                  f"upscaler {self.name!r}")


def upscaled_sizes(size: tuple[int, int], target: tuple[int, int]) -> list[tuple[int, int]]:
    """The sizes a server may return for ``size`` upscaled to ``target`` without cropping:
    the target itself, and what A1111 v1.10 makes of it (scaled by the larger of the two
    ratios, each side rounded down to its 8 px grid)."""
    scale = max(target[0] / size[0], target[1] / size[1])
    grid = (int((size[0] * scale) // LATENT_GRID * LATENT_GRID),
            int((size[1] * scale) // LATENT_GRID * LATENT_GRID))
    return [target] if grid == target else [target, grid]


def _extras_body(image: np.ndarray) -> dict[str, Any]:
    """What every FacePop extras request shares: the image, no second upscaler, the image
    sent back."""
    return {"image": encode_png(np.ascontiguousarray(image)), "show_extras_results": True,
            "upscaler_2": _NO_UPSCALER, "extras_upscaler_2_visibility": 0.0}
