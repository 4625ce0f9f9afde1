"""Clients of a running WebUI's HTTP API (A1111 v1.10 ``/sdapi/v1/*``, docs/design.md
section 3.4): one ``WebUIServer`` per server, which every kind of request (img2img now,
extras later) goes through, with the same retries, authentication and reply checks."""

from lib_facepop.api_client.server import (
    BadReplyError,
    Credentials,
    RetryPolicy,
    ServerError,
    ServerRefusedError,
    ServerSettings,
    ServerUnavailableError,
    WebUIServer,
    parse_credentials,
)

__all__ = [
    "BadReplyError",
    "Credentials",
    "RetryPolicy",
    "ServerError",
    "ServerRefusedError",
    "ServerSettings",
    "ServerUnavailableError",
    "WebUIServer",
    "parse_credentials",
]
