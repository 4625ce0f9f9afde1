"""FacePop's HTTP routes, and checking FacePop's API args before a generation starts.

The WebUI catches every exception a script hook raises (docs/design.md section 4), so a bad
setting found inside a hook can never reach the API client. Instead, the img2img and
txt2img routes are wrapped: a request whose ``alwayson_scripts.FacePop.args`` don't
validate is answered with HTTP 422 naming the field, before the WebUI starts generating.

``--api-auth`` (docs/design.md section 4, fact 13): the WebUI guards only the routes it
adds itself, so FacePop guards its own routes with the same check, and the wrapper of the
img2img and txt2img routes hands a request without valid credentials to the WebUI's route
untouched, which answers it with its own 401: FacePop never answers before the WebUI's
auth check.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from secrets import compare_digest
from typing import Any

from fastapi import Depends, HTTPException
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from lib_facepop import __version__
from lib_facepop.errors import SettingsError
from lib_facepop.settings import FacePopSettings, json_schema

log = logging.getLogger(__name__)

SCHEMA_ROUTE = "/facepop/v1/schema"
VERSION_ROUTE = "/facepop/v1/version"
VALIDATED_ROUTES = ("/sdapi/v1/img2img", "/sdapi/v1/txt2img")
SCRIPT_NAME = "facepop"
# FastAPI's HTTP Basic credentials of a request (a dependency marker, never changed)
BASIC_CREDENTIALS = Depends(HTTPBasic())

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def check_request(body: bytes) -> tuple[int, dict[str, Any]] | None:
    """(status, JSON payload) when the request's FacePop args are bad; None when they are
    fine, absent, or the body isn't JSON at all (the WebUI answers that itself)."""
    try:
        request = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(request, Mapping):
        return None
    scripts = request.get("alwayson_scripts")
    if not isinstance(scripts, Mapping):
        return None
    key = next((k for k in scripts if isinstance(k, str) and k.lower() == SCRIPT_NAME), None)
    if key is None:
        return None
    entry = scripts[key]
    if not isinstance(entry, Mapping):
        return _rejection("args", f"alwayson_scripts.{key} must be an object like "
                                  f'{{"args": [{{...settings...}}]}}')
    args = entry.get("args", [])
    if not isinstance(args, list):
        return _rejection("args", f"alwayson_scripts.{key}.args must be a list: one object "
                                  f"of named settings, or values in UI order")
    try:
        FacePopSettings.from_args(args)
    except SettingsError as exc:
        return _rejection(exc.field, str(exc))
    return None


def _rejection(field: str, message: str) -> tuple[int, dict[str, Any]]:
    return 422, {"detail": f"FacePop: {message}", "field": field}


class ApiAuth:
    """The WebUI's ``--api-auth`` check: HTTP Basic credentials, "user:password" pairs
    separated by commas, passwords compared in constant time."""

    def __init__(self, api_auth: str) -> None:
        self.credentials: dict[str, str] = {}
        for pair in api_auth.split(","):
            user, _, password = pair.partition(":")
            self.credentials[user] = password

    def accepts(self, username: str, password: str) -> bool:
        known = self.credentials.get(username)
        return known is not None and compare_digest(password.encode(), known.encode())

    def accepts_scope(self, scope: Scope) -> bool:
        """Whether an ASGI request carries credentials this check accepts."""
        headers = dict(scope.get("headers") or ())
        scheme, _, encoded = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:  # never laxer than the WebUI's check (FastAPI's HTTPBasic: ASCII only)
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError):
            return False
        username, separator, password = decoded.partition(":")
        return bool(separator) and self.accepts(username, password)

    def dependency(self) -> Callable[..., bool]:
        """A FastAPI dependency that refuses a request as the WebUI does: 401 with
        ``WWW-Authenticate: Basic`` (no credentials: FastAPI's own 401)."""

        def check(credentials: HTTPBasicCredentials = BASIC_CREDENTIALS) -> bool:
            if self.accepts(credentials.username, credentials.password):
                return True
            raise HTTPException(status_code=401, detail="Incorrect username or password",
                                headers={"WWW-Authenticate": "Basic"})

        return check


class ValidatedRoute:
    """An ASGI wrapper for one route: reads the body, answers 422 for bad FacePop args,
    else replays the body to the wrapped route unchanged. With ``auth``, a request without
    credentials it accepts goes to the wrapped route at once, unread: the WebUI's own
    auth check answers it."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]],
                 auth: ApiAuth | None = None) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or scope.get("method") != "POST" or (
                self.auth is not None and not self.auth.accepts_scope(scope)):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message.get("type") != "http.request":
                await self.app(scope, receive, send)  # disconnected: let the app see it
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        problem = check_request(body)
        if problem is not None:
            await _send_json(send, *problem)
            return
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _send_json(send: Send, status: int, payload: dict[str, Any]) -> None:
    data = json.dumps(payload).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


def schema() -> dict[str, Any]:
    return json_schema()


def version() -> dict[str, str]:
    return {"version": __version__}


def register_routes(_demo: Any, app: Any, api_auth: str | None = None) -> None:
    """Add FacePop's routes and guard the generation routes; ``api_auth`` is the WebUI's
    ``--api-auth`` value (None: no authentication, as in the WebUI)."""
    auth = ApiAuth(api_auth) if api_auth else None
    guarded = {"dependencies": [Depends(auth.dependency())]} if auth is not None else {}
    app.add_api_route(SCHEMA_ROUTE, schema, methods=["GET"], **guarded)
    app.add_api_route(VERSION_ROUTE, version, methods=["GET"], **guarded)
    wrapped = 0
    for route in app.router.routes:
        if (getattr(route, "path", None) in VALIDATED_ROUTES
                and "POST" in (getattr(route, "methods", None) or ())
                and not isinstance(route.app, ValidatedRoute)):
            route.app = ValidatedRoute(route.app, auth)
            wrapped += 1
    if not wrapped:
        log.info("FacePop: the WebUI API is off (no --api), so FacePop's API args are not "
                 "checked")


def on_app_started(demo: Any, app: Any) -> None:
    """``script_callbacks.on_app_started`` callback: FacePop's routes, under the WebUI's
    ``--api-auth`` when it is given."""
    from modules import shared

    register_routes(demo, app, getattr(shared.cmd_opts, "api_auth", None) or None)
