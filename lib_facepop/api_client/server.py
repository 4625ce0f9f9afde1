"""One WebUI server over HTTP: JSON requests with authentication, retries with backoff on
what may pass (no connection, timeouts, 5xx, a reply that is not JSON), none on what will
not (4xx, whose message is shown), and checked image replies: img2img, the extras API
(face restoration, upscaling) and the lists of face restorers and upscalers.

Errors say whose fault they are, so a caller can decide what to do with the image (all are
``ToolHostError``: a restorer or upscaler on the server that fails this way fails the image
instead of being left out):

* ``ServerUnavailableError``: the server failed (after the retries); another server may do
  the same request.
* ``BadReplyError``: the server answered, but not with what was asked (wrong number or
  size of images, images that don't decode); another server may do better.
* ``ServerRefusedError``: HTTP 4xx. ``server_level`` (401, 403, 404, 405) means the server
  refuses everything (credentials, not started with --api); otherwise the request itself is
  refused and no other server would take it.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from lib_facepop.errors import FacePopError
from lib_facepop.images import pil_to_array, to_rgb8
from lib_facepop.tools import ToolHostError

log = logging.getLogger(__name__)

IMG2IMG_ROUTE = "/sdapi/v1/img2img"
EXTRAS_ROUTE = "/sdapi/v1/extra-single-image"
FACE_RESTORERS_ROUTE = "/sdapi/v1/face-restorers"
UPSCALERS_ROUTE = "/sdapi/v1/upscalers"
PROBE_ROUTE = "/sdapi/v1/samplers"
LATENT_GRID = 8
"""The WebUI samples in latents of 1/8 the size: images come back in multiples of 8 px."""
_SERVER_LEVEL_STATUSES = (401, 403, 404, 405)
_DETAIL_LENGTH = 300


class ServerError(FacePopError, ToolHostError, RuntimeError):
    """A WebUI server could not do a request."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__(f"{url}: {message}")
        self.url = url
        self.reason = message


class ServerUnavailableError(ServerError):
    """No connection, no answer in time, HTTP 5xx or an answer that is not JSON."""


class BadReplyError(ServerError):
    """The server answered, but not with what the request asked for."""


class ServerRefusedError(ServerError):
    """HTTP 4xx: the server refused the request; ``detail`` is its own message."""

    def __init__(self, url: str, status: int, detail: str) -> None:
        super().__init__(url, f"HTTP {status} {detail}".rstrip())
        self.status = status
        self.detail = detail

    @property
    def server_level(self) -> bool:
        """The server refuses every request like it (credentials, no API), not this one."""
        return self.status in _SERVER_LEVEL_STATUSES


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str

    def header(self) -> str:
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode("ascii")
        return f"Basic {token}"


def parse_credentials(text: str) -> Credentials:
    """``USER:PASS`` as the WebUI's --api-auth takes it (the first colon separates)."""
    user, colon, password = text.partition(":")
    if not colon or not user:
        raise ValueError("expected USER:PASS")
    return Credentials(user, password)


@dataclass(frozen=True)
class RetryPolicy:
    """``retries`` more tries after the first, waiting ``first_delay`` seconds, then twice
    as long each time (at most ``max_delay``)."""

    retries: int = 3
    first_delay: float = 2.0
    max_delay: float = 60.0

    def delay(self, attempt: int) -> float:
        return min(self.max_delay, self.first_delay * (2.0 ** attempt))


def normalized_url(url: str) -> str:
    """The server's base URL without a trailing slash; ValueError says what is wrong."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise ValueError("must start with http:// or https://")
    if not parts.hostname:
        raise ValueError("has no host name")
    try:
        parts.port  # noqa: B018 (raises for a port that is not a number)
    except ValueError:
        raise ValueError("has a port that is not a number") from None
    if parts.query or parts.fragment:
        raise ValueError("must not have a query (?...) or fragment (#...)")
    if parts.username or parts.password:
        raise ValueError("must not hold a user name or password; give them with --api-auth")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "",
                                    ""))


class WebUIServer:
    """One running WebUI (started with --api), and every request FacePop makes to it."""

    def __init__(self, url: str, *, credentials: Credentials | None = None,
                 timeout: float = 600.0, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        try:
            self.url = normalized_url(url)
        except ValueError as exc:
            raise ServerError(url, f"not a server URL: {exc}") from None
        self.credentials = credentials
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.sleep = sleep

    def __repr__(self) -> str:
        return f"WebUIServer({self.url!r})"

    # --- kinds of request ---------------------------------------------------------------
    def probe(self) -> None:
        """Check that the server answers its API with these credentials."""
        reply = self.request("GET", PROBE_ROUTE)
        if not isinstance(reply, list):
            raise BadReplyError(self.url, f"{PROBE_ROUTE} did not answer with a list; is this "
                                          f"an AUTOMATIC1111 WebUI?")

    def img2img(self, body: dict[str, Any], count: int,
                sizes: Sequence[tuple[int, int]]) -> list[np.ndarray]:
        """POST an img2img request; ``count`` RGB images, each of one of ``sizes`` (width,
        height), or BadReplyError. A batch grid the server put first is dropped."""
        reply = self.request("POST", IMG2IMG_ROUTE, body)
        encoded = reply.get("images") if isinstance(reply, dict) else None
        if not isinstance(encoded, list):
            raise BadReplyError(self.url, f"{IMG2IMG_ROUTE} answered without an 'images' "
                                          f"list")
        if count > 1 and len(encoded) == count + 1:
            encoded = encoded[1:]  # the grid of the batch, which the WebUI puts first
        if len(encoded) != count:
            raise BadReplyError(self.url, f"returned {len(encoded)} image(s) for {count}")
        images = [self._decode(item) for item in encoded]
        for image in images:
            self._check_size(image, sizes)
        return images

    def extras(self, body: dict[str, Any], sizes: Sequence[tuple[int, int]], what: str
               ) -> np.ndarray:
        """POST a single-image extras request; its RGB image, of one of ``sizes`` (width,
        height), or BadReplyError naming ``what`` was asked (e.g. "CodeFormer")."""
        reply = self.request("POST", EXTRAS_ROUTE, body)
        encoded = reply.get("image") if isinstance(reply, dict) else None
        if not isinstance(encoded, str) or not encoded:
            raise BadReplyError(self.url, f"{EXTRAS_ROUTE} ({what}) answered without an "
                                          f"'image'")
        image = self._decode(encoded)
        self._check_size(image, sizes, f"{what} ")
        return image

    def names(self, route: str) -> list[str]:
        """The ``name`` of each item a listing route answers with, in its order (face
        restorers, upscalers)."""
        reply = self.request("GET", route)
        if not isinstance(reply, list) or not all(
                isinstance(item, dict) and isinstance(item.get("name"), str) for item in reply):
            raise BadReplyError(self.url, f"{route} did not answer with a list of named "
                                          f"items")
        return [item["name"] for item in reply]

    # --- the machinery ------------------------------------------------------------------
    def request(self, method: str, route: str, body: Any = None) -> Any:
        """One JSON request, retried with backoff while the server is unavailable."""
        for attempt in range(self.retry.retries + 1):
            try:
                return self._once(method, route, body)
            except ServerUnavailableError as exc:
                if attempt >= self.retry.retries:
                    raise
                delay = self.retry.delay(attempt)
                log.info("FacePop: %s; try %d of %d in %.1f s", exc, attempt + 2,
                         self.retry.retries + 1, delay)
                self.sleep(delay)
        raise AssertionError("unreachable")

    def _once(self, method: str, route: str, body: Any) -> Any:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.credentials is not None:
            headers["Authorization"] = self.credentials.header()
        request = urllib.request.Request(f"{self.url}{route}", data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                raise self._timed_out() from None
            if isinstance(reason, (ConnectionResetError, ConnectionAbortedError)):
                raise ServerUnavailableError(self.url, f"the connection broke off "
                                                       f"({reason})") from None
            raise ServerUnavailableError(self.url, f"can't connect ({reason}); is the WebUI "
                                                   f"running with --api?") from None
        except TimeoutError:
            raise self._timed_out() from None
        except (http.client.HTTPException, ConnectionError, OSError) as exc:
            raise ServerUnavailableError(self.url, f"the connection broke off "
                                                   f"({type(exc).__name__}: {exc})") from None
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ServerUnavailableError(
                self.url, f"{route} answered with something that is not JSON: "
                          f"{_excerpt(raw)}") from None

    def _timed_out(self) -> ServerUnavailableError:
        return ServerUnavailableError(self.url, f"no answer within {self.timeout:g} s "
                                                f"(--timeout)")

    def _http_error(self, exc: urllib.error.HTTPError) -> ServerError:
        try:
            raw = exc.read()
        except OSError:
            raw = b""
        detail = _server_detail(raw)
        if exc.code >= 500:
            return ServerUnavailableError(self.url, f"HTTP {exc.code} {detail}".rstrip())
        if exc.code == 401:
            detail = (f"{detail} (the WebUI was started with --api-auth: give its USER:PASS "
                      f"with --api-auth)" if self.credentials is None else
                      f"{detail} (with the --api-auth given)")
        elif exc.code == 404:
            detail = f"{detail} (is the WebUI running with --api?)"
        return ServerRefusedError(self.url, exc.code, detail)

    def _check_size(self, image: np.ndarray, sizes: Sequence[tuple[int, int]],
                    what: str = "") -> None:
        size = (int(image.shape[1]), int(image.shape[0]))
        if size not in sizes:
            raise BadReplyError(self.url, f"{what}returned a {size[0]}x{size[1]} image for "
                                          f"{sizes[0][0]}x{sizes[0][1]}")

    def _decode(self, encoded: Any) -> np.ndarray:
        if not isinstance(encoded, str):
            raise BadReplyError(self.url, "returned an image that is not a base64 string")
        if encoded.startswith("data:") and "," in encoded:
            encoded = encoded.split(",", 1)[1]
        try:
            with Image.open(io.BytesIO(base64.b64decode(encoded))) as img:
                img.load()
                return to_rgb8(pil_to_array(img), name="server image")
        except (ValueError, OSError, FacePopError) as exc:
            raise BadReplyError(self.url, f"returned an image FacePop can't decode "
                                          f"({exc})") from None


@dataclass(frozen=True)
class ServerSettings:
    """What every server of a run is asked with (--api-auth, --timeout, --retries)."""

    credentials: Credentials | None = None
    timeout: float = 600.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def server(self, url: str) -> WebUIServer:
        return WebUIServer(url, credentials=self.credentials, timeout=self.timeout,
                           retry=self.retry)


def latent_sizes(width: int, height: int) -> list[tuple[int, int]]:
    """The sizes a WebUI may return for a request of ``width`` x ``height``: that size, or
    rounded down to its latent grid (where it does not overlay the init image)."""
    rounded = (width - width % LATENT_GRID, height - height % LATENT_GRID)
    return [(width, height)] if rounded == (width, height) else [(width, height), rounded]


def encode_png(image: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _server_detail(raw: bytes) -> str:
    """The server's own words from an error body: FastAPI's ``detail`` (a message or a list
    of validation errors), the WebUI's ``errors``, or the text itself."""
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _excerpt(raw)
    if isinstance(payload, dict):
        detail = payload.get("detail") or payload.get("errors") or payload.get("error")
        if isinstance(detail, list):
            return "; ".join(_validation_error(item) for item in detail)[:_DETAIL_LENGTH]
        if detail:
            return str(detail)[:_DETAIL_LENGTH]
    return _excerpt(raw)


def _validation_error(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    where = ".".join(str(part) for part in item.get("loc", []) if part != "body")
    return f"{where}: {item.get('msg', '')}" if where else str(item.get("msg", item))


def _excerpt(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").strip().replace("\n", " ")
    if not text:
        return "(empty)"
    return repr(text[:80] + ("..." if len(text) > 80 else ""))
