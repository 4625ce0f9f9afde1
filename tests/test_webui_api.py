"""FacePop's API routes and the check of its args, over real HTTP on loopback."""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import fastapi
import pytest

from lib_facepop import __version__
from lib_facepop.webui.api import (
    SCHEMA_ROUTE,
    VERSION_ROUTE,
    ApiAuth,
    check_request,
    register_routes,
)
from tests.helpers import basic_auth, http_call, post_json, serving
from tests.webui_double_fixtures import FLAVOURS

ROOT = Path(__file__).resolve().parents[1]
WEBUI_FLAVOURS = FLAVOURS  # the WebUI's own API in both flavours of the double


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, list]]:
    """A FastAPI app with an img2img route that records what reaches it, as the WebUI's
    API would be when FacePop's on_app_started callback runs."""
    app = fastapi.FastAPI()
    received: list = []

    @app.post("/sdapi/v1/img2img")
    async def img2img(request: fastapi.Request) -> dict:
        received.append(await request.json())
        return {"images": [], "info": "{}"}

    register_routes(None, app)
    register_routes(None, app)  # a second call (UI reload) must not wrap twice
    with serving(app) as base:
        yield base, received


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_good_named_args_reach_the_webui_unchanged(server) -> None:
    base, received = server
    body = {"prompt": "p", "init_images": ["x"],
            "alwayson_scripts": {"FacePop": {"args": [{"enabled": True, "padding": 20}]}}}
    status, _ = post_json(f"{base}/sdapi/v1/img2img", body)
    assert status == 200
    assert received[-1] == body


def test_positional_args_and_requests_without_facepop_pass(server) -> None:
    base, received = server
    for body in ({"alwayson_scripts": {"facepop": {"args": [True, "ellipse", False]}}},
                 {"prompt": "no scripts"},
                 {"alwayson_scripts": {"ControlNet": {"args": [{"anything": 1}]}}}):
        assert post_json(f"{base}/sdapi/v1/img2img", body)[0] == 200
        assert received[-1] == body


@pytest.mark.parametrize(("args", "field"), [
    ([{"enabled": True, "face_widht": 512}], "face_widht"),
    ([{"padding": 500}], "padding"),
    ([{"enabled": "yes"}], "enabled"),
    ([True, "not-a-mask"], "mask_source"),
    ({"enabled": True}, "args"),
])
def test_bad_args_get_a_422_naming_the_field_and_never_reach_the_webui(
        server, args, field) -> None:
    base, received = server
    before = len(received)
    status, payload = post_json(f"{base}/sdapi/v1/img2img",
                            {"alwayson_scripts": {"FacePop": {"args": args}}})
    assert status == 422
    assert payload["field"] == field
    assert payload["detail"].startswith("FacePop: ")
    assert len(received) == before


def test_schema_and_version_routes(server) -> None:
    base, _ = server
    schema = _get(f"{base}/facepop/v1/schema")
    assert schema["properties"]["padding"]["default"] == 35.0
    assert schema["additionalProperties"] is False
    assert _get(f"{base}/facepop/v1/version") == {"version": __version__}


def test_check_request_ignores_what_is_not_json_or_not_facepops() -> None:
    assert check_request(b"not json") is None
    assert check_request(b"[1, 2]") is None
    assert check_request(b'{"alwayson_scripts": []}') is None
    status, payload = check_request(b'{"alwayson_scripts": {"FacePop": [1]}}')
    assert status == 422 and payload["field"] == "args"


# --- --api-auth: the WebUI started with --api --api-auth, over real HTTP ------------------

AUTH = "alice:secret,bob:hunter2"


@pytest.fixture
def guarded_webui(webui):
    """The WebUI double with FacePop, started with --api --api-auth; yields the base URL."""
    webui.set_commandline_args(f"--api --api-auth {AUTH}")
    webui.install_extension(ROOT)
    app, _ = webui.start()
    with serving(app) as base:
        yield base


@pytest.mark.parametrize("route", [SCHEMA_ROUTE, VERSION_ROUTE])
def test_api_auth_guards_facepops_routes(guarded_webui, route) -> None:
    url = f"{guarded_webui}{route}"
    for headers in (None, basic_auth("alice", "wrong"), basic_auth("eve", "secret"),
                    {"Authorization": "Bearer secret"}):
        status, reply, _ = http_call(url, headers=headers)
        assert status == 401, headers
        assert reply["error"] == "HTTPException"  # the WebUI's own error reply
    for user, password in (("alice", "secret"), ("bob", "hunter2")):
        status, reply, _ = http_call(url, headers=basic_auth(user, password))
        assert status == 200 and reply


def test_api_auth_answers_before_facepops_check_of_img2img_args(guarded_webui, webui) -> None:
    url = f"{guarded_webui}/sdapi/v1/img2img"
    bad = {"prompt": "p", "alwayson_scripts": {"FacePop": {"args": [{"padding": 500}]}}}
    good = {"prompt": "p"}
    for headers in (None, basic_auth("alice", "wrong")):
        # Exactly what the WebUI answers a request without FacePop args: its own 401.
        refused = http_call(url, good, headers)[:2]
        assert refused[0] == 401
        assert http_call(url, bad, headers)[:2] == refused
    # With credentials, FacePop's check answers, before any generation starts.
    status, reply, _ = http_call(url, bad, basic_auth("bob", "hunter2"))
    assert (status, reply["field"]) == (422, "padding")
    assert webui.process_images_log == []


def test_api_auth_check_of_request_credentials() -> None:
    auth = ApiAuth(AUTH)

    def scope(value: bytes | None) -> dict:
        return {"headers": [] if value is None else [(b"authorization", value)]}

    token = base64.b64encode(b"bob:hunter2")
    assert auth.accepts_scope(scope(b"Basic " + token))
    assert auth.accepts_scope(scope(b"basic " + token))
    for refused in (None, b"Bearer " + token, b"Basic " + base64.b64encode(b"bob:hunter"),
                    b"Basic " + base64.b64encode(b"bobhunter2"), b"Basic !!!",
                    b"Basic " + base64.b64encode("bob:hunter2\u00e9".encode())):
        assert not auth.accepts_scope(scope(refused)), refused
