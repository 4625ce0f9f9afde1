"""The servers' face restorers and upscalers, checked against the settings before any work
(docs/cli.md and docs/quality.md).

Each server's images use that server's own tools. A restorer or upscaler that a server
lacks is said once for that server, and its images go on without it (faces not restored,
or enlarged with Lanczos). An upscaler that no server has is a usage error: most likely a
typo, and cheaper to say before the run than after it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from lib_facepop.api_client import WebUIServer
from lib_facepop.api_client.extras import (
    ExtrasUpscaler,
    NoExtrasApiError,
    ServerOffer,
    server_tools,
)
from lib_facepop.batch.servers import ServerLacksError
from lib_facepop.notices import Notices
from lib_facepop.restore import resolve_restorer
from lib_facepop.settings import FacePopSettings
from lib_facepop.tools import FaceTools
from lib_facepop.upscale import is_builtin_upscaler, resolve_upscaler


class UnknownUpscalerError(ValueError):
    """The settings name an upscaler that no server has."""


def needs_server_tools(settings: FacePopSettings) -> bool:
    """Whether the settings ask for a restorer or for an upscaler FacePop lacks itself."""
    return settings.face_restoration != "none" or not is_builtin_upscaler(settings.upscaler)


def upscales_on_servers(settings: FacePopSettings) -> bool:
    """Whether small faces are enlarged by a server's upscaler (so on the server that
    processes the image, when its faces are cut out)."""
    return not is_builtin_upscaler(settings.upscaler)


def asker(offers: MutableMapping[str, ServerOffer], settings: FacePopSettings
          ) -> Callable[[WebUIServer], None]:
    """A probe step that asks a server what it has and keeps it in ``offers`` by URL; a
    server without the extras API lacks what the settings ask (ServerLacksError)."""
    def ask(server: WebUIServer) -> None:
        try:
            offers[server.url] = ServerOffer.ask(server)
        except NoExtrasApiError as exc:
            asked = _asked(settings)
            need = "needs" if len(asked) == 1 else "need"
            raise ServerLacksError(
                f"{exc}, which {' and '.join(asked.values())} {need}",
                f"give a --server with the extras API, or run without "
                f"{' and '.join(asked)}") from None
    return ask


def _asked(settings: FacePopSettings) -> dict[str, str]:
    """What of the extras API the settings ask for: flag -> in words."""
    asked = {}
    if settings.face_restoration != "none":
        asked["--face-restoration"] = "face restoration"
    if not is_builtin_upscaler(settings.upscaler):
        asked["--upscaler"] = f"the upscaler {settings.upscaler.strip()!r}"
    return asked


def check_upscaler(settings: FacePopSettings, offers: Mapping[str, ServerOffer]) -> None:
    """UnknownUpscalerError when the settings name an upscaler that none of the servers
    has, with what they have (and the closest name)."""
    if not upscales_on_servers(settings) or not offers:
        return
    name = settings.upscaler.strip()
    if any(offer.upscaler(name) is not None for offer in offers.values()):
        return
    known = list(dict.fromkeys(n for offer in offers.values() for n in offer.model_upscalers))
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    where = "the server has" if len(offers) == 1 else "the servers have"
    listed = ", ".join(known) if known else "none"
    raise UnknownUpscalerError(
        f"--upscaler {name!r}: no server has this upscaler{hint} ({where}: {listed}; "
        f"FacePop itself has Lanczos and None)")


@dataclass
class ServerToolSet:
    """One server's tools for the pipeline, the notices of its images (each said once,
    naming the server), and what run.json records of them."""

    tools: FaceTools
    notices: Notices
    record: dict[str, Any] = field(default_factory=dict)


def tool_set(server: WebUIServer, offer: ServerOffer | None, settings: FacePopSettings,
             notices: Notices) -> ServerToolSet:
    """``server``'s tools; what it lacks of what the settings ask is said now through
    ``notices`` (the notices of its images: not said again)."""
    tools = server_tools(server, offer) if offer is not None else FaceTools()
    restorer = resolve_restorer(settings, tools, notices)
    upscaler = resolve_upscaler(settings.upscaler, tools, notices)
    record = {"url": server.url,
              "face_restorer": restorer.name if restorer is not None else None,
              "upscaler": upscaler.name if isinstance(upscaler, ExtrasUpscaler) else None}
    return ServerToolSet(tools, notices, record)
