"""Self-tests of the test double's --api-auth (tests/webui_double/modules/api/api.py), over
real HTTP on loopback: what the A1111 v1.10.1 host does with the flag."""

from __future__ import annotations

from tests.helpers import basic_auth, http_call, serving, write_extension

# An extension that adds a route of its own from on_app_started, as extensions do.
OWN_ROUTE = """
from modules import script_callbacks


def add_route(demo, app):
    app.add_api_route("/ownroute/v1/hello", lambda: {"hello": "world"}, methods=["GET"])


script_callbacks.on_app_started(add_route)
"""


def test_api_auth_guards_the_hosts_routes_not_routes_extensions_add(webui, tmp_path):
    webui.set_commandline_args("--api --api-auth alice:secret,bob:hunter2")
    webui.install_extension(write_extension(tmp_path, "ownroute", OWN_ROUTE))
    app, _ = webui.start()
    body = {"prompt": "p"}  # no init_images: the route itself answers 404 once past auth
    with serving(app) as base:
        url = f"{base}/sdapi/v1/img2img"
        status, reply, headers = http_call(url, body)
        assert status == 401
        # The host's error handler: its JSON shape, the exception's headers dropped.
        assert set(reply) == {"error", "detail", "body", "errors"}
        assert (reply["error"], reply["detail"]) == ("HTTPException", "Not authenticated")
        assert "www-authenticate" not in {key.lower() for key in headers}
        status, reply, _ = http_call(url, body, basic_auth("alice", "wrong"))
        assert (status, reply["detail"]) == (401, "Incorrect username or password")
        status, reply, _ = http_call(url, body, basic_auth("mallory", "secret"))
        assert status == 401
        for user, password in (("alice", "secret"), ("bob", "hunter2")):  # every pair
            status, reply, _ = http_call(url, body, basic_auth(user, password))
            assert (status, reply["detail"]) == (404, "Init image not found")
        # A route an extension adds itself is not guarded by --api-auth.
        assert http_call(f"{base}/ownroute/v1/hello")[:2] == (200, {"hello": "world"})


def test_without_api_auth_the_hosts_routes_are_open(webui):
    webui.set_commandline_args("--api")
    app, _ = webui.start()
    with serving(app) as base:
        status, reply, _ = http_call(f"{base}/sdapi/v1/img2img", {"prompt": "p"})
    assert (status, reply["detail"]) == (404, "Init image not found")
