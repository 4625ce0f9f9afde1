"""A WebUI server's face restorers and upscalers as the pipeline's tools, through its extras
API, against the loopback WebUI (tests/fake_webui_server): what is asked of the server,
what comes back, retries and reply checks, what a server lacks, and server failures that
fail the image instead of being left out."""

from __future__ import annotations

import io
import logging

import cv2
import numpy as np
import pytest

from lib_facepop.api_client import BadReplyError, RetryPolicy, WebUIServer
from lib_facepop.api_client.extras import (
    ExtrasRestorer,
    ExtrasUpscaler,
    ServerOffer,
    server_tools,
    upscaled_sizes,
)
from lib_facepop.batch.progress import Progress, ProgressLog
from lib_facepop.batch.server_tools import UnknownUpscalerError, check_upscaler, tool_set
from lib_facepop.detect import SinglePassDetector
from lib_facepop.masks import EllipseMaskSource
from lib_facepop.notices import Notices
from lib_facepop.pipeline import FacePipeline
from lib_facepop.processors import IdentityProcessor
from lib_facepop.restore import resolve_restorer
from lib_facepop.settings import FacePopSettings
from lib_facepop.upscale import resolve_upscaler
from tests.fake_webui_server import _decode, restored_by, running_fake_webui


def _server(url: str, sleeps: list[float] | None = None, retries: int = 3) -> WebUIServer:
    waits = sleeps if sleeps is not None else []
    return WebUIServer(url, retry=RetryPolicy(retries=retries, first_delay=1.5),
                       sleep=waits.append)


def _face(height: int = 96, width: int = 96) -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, (height, width, 3), dtype=np.uint8)


# --- what a server has ------------------------------------------------------------------------

def test_the_offer_is_what_the_server_lists() -> None:
    with running_fake_webui(restorers=("GFPGAN",)) as fake:
        offer = ServerOffer.ask(_server(fake.url))
    assert offer.restorers == ("GFPGAN",)
    assert offer.restorer("gfpgan") == "GFPGAN" and offer.restorer("codeformer") is None
    assert offer.upscaler("r-esrgan 4X+") == "R-ESRGAN 4x+"  # the server's own spelling
    assert offer.model_upscalers == ("Nearest", "ESRGAN_4x", "R-ESRGAN 4x+",
                                     "R-ESRGAN 4x+ Anime6B")  # not Lanczos nor None


def test_the_tools_are_the_servers_restorers_and_model_upscalers() -> None:
    with running_fake_webui() as fake:
        server = _server(fake.url)
        tools = server_tools(server, ServerOffer.ask(server))
    assert {k: r.name for k, r in tools.restorers.items()} == {"codeformer": "CodeFormer",
                                                               "gfpgan": "GFPGAN"}
    assert "Lanczos" not in tools.upscalers and "R-ESRGAN 4x+" in tools.upscalers


# --- restoration --------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "name"), [("codeformer", "CodeFormer"),
                                             ("gfpgan", "GFPGAN")])
def test_restoration_sends_the_face_at_full_visibility_and_no_upscaler(value, name) -> None:
    face = _face()
    with running_fake_webui() as fake:
        restored = ExtrasRestorer(_server(fake.url), value).restore(face, 0.6)
    (body,) = fake.extras_requests
    assert np.array_equal(_decode(body["image"]), face)
    visibilities = {"codeformer": body["codeformer_visibility"],
                    "gfpgan": body["gfpgan_visibility"]}
    assert visibilities == {v: (1.0 if v == value else 0.0) for v in visibilities}
    assert body["codeformer_weight"] == 0.6
    assert (body["upscaler_1"], body["upscaler_2"], body["upscaling_resize"]) == ("None",
                                                                                  "None", 1)
    assert np.array_equal(restored, restored_by(name, face, 0.6))


def test_a_restored_face_of_another_size_is_a_bad_reply_naming_the_restorer() -> None:
    with (running_fake_webui(extras_image_size=(64, 32)) as fake,
          pytest.raises(BadReplyError) as caught):
        ExtrasRestorer(_server(fake.url), "codeformer").restore(_face(), 0.6)
    assert str(caught.value) == f"{fake.url}: CodeFormer returned a 64x32 image for 96x96"


def test_http_500_once_is_retried_after_a_wait() -> None:
    sleeps: list[float] = []
    face = _face()
    with running_fake_webui(extras_fail_first=1) as fake:
        restored = ExtrasRestorer(_server(fake.url, sleeps), "gfpgan").restore(face, 0.5)
    assert len(fake.extras_requests) == 2 and sleeps == [1.5]
    assert np.array_equal(restored, restored_by("GFPGAN", face, 0.5))


# --- upscaling ----------------------------------------------------------------------------------

def test_upscaling_asks_for_the_face_size_without_crop_to_fit() -> None:
    crop = _face(61, 59)
    with running_fake_webui() as fake:
        enlarged = ExtrasUpscaler(_server(fake.url), "R-ESRGAN 4x+").upscale(crop, (128, 128))
    (body,) = fake.extras_requests
    assert np.array_equal(_decode(body["image"]), crop)
    assert {k: body[k] for k in ("resize_mode", "upscaling_resize_w", "upscaling_resize_h",
                                 "upscaling_crop", "upscaler_1", "codeformer_visibility",
                                 "gfpgan_visibility")} == {
        "resize_mode": 1, "upscaling_resize_w": 128, "upscaling_resize_h": 128,
        "upscaling_crop": False, "upscaler_1": "R-ESRGAN 4x+", "codeformer_visibility": 0,
        "gfpgan_visibility": 0}
    # The whole crop scaled by max(128/59, 128/61), rounded down to 8 px: nothing cut off.
    assert enlarged.shape == (128, 128, 3)
    assert np.array_equal(enlarged[..., 2], enlarged[..., 0])  # the server's model did it


def test_the_sizes_accepted_are_the_target_and_the_servers_rounding() -> None:
    assert upscaled_sizes((64, 64), (256, 256)) == [(256, 256)]
    # 59x61 to 128x128: scale 128/59, so 128 x 132.3 -> 128 x 128 on the 8 px grid
    assert upscaled_sizes((59, 61), (128, 128)) == [(128, 128)]
    # 30x20 to 100x100: scale 5, 150x100 -> 144x96
    assert upscaled_sizes((30, 20), (100, 100)) == [(100, 100), (144, 96)]


def test_a_rounded_reply_is_accepted_and_resized_by_the_pipeline_not_the_client() -> None:
    crop = _face(20, 30)
    with running_fake_webui() as fake:
        enlarged = ExtrasUpscaler(_server(fake.url), "ESRGAN_4x").upscale(crop, (100, 100))
    assert enlarged.shape == (96, 144, 3)


def test_an_upscaled_image_of_a_wrong_size_is_a_bad_reply_naming_the_upscaler() -> None:
    with (running_fake_webui(extras_image_size=(50, 50)) as fake,
          pytest.raises(BadReplyError) as caught):
        ExtrasUpscaler(_server(fake.url), "ESRGAN_4x").upscale(_face(32, 32), (128, 128))
    assert "upscaler 'ESRGAN_4x' returned a 50x50 image for 128x128" in str(caught.value)


# --- in the pipeline ------------------------------------------------------------------------------

def _pipeline(server: WebUIServer) -> FacePipeline:
    return FacePipeline(SinglePassDetector(), EllipseMaskSource(), IdentityProcessor(),
                        tools=server_tools(server, ServerOffer.ask(server)))


def test_a_server_failing_a_restoration_fails_the_image_not_just_the_face(astronaut) -> None:
    settings = FacePopSettings(enabled=True, face_restoration="codeformer")
    with (running_fake_webui(extras_image_size=(64, 32)) as fake,
          pytest.raises(BadReplyError, match="CodeFormer returned a 64x32 image")):
        _pipeline(_server(fake.url)).run(astronaut, settings)


def test_a_server_failing_an_upscale_fails_the_image_not_just_the_face(astronaut) -> None:
    settings = FacePopSettings(enabled=True, upscaler="R-ESRGAN 4x+")
    with (running_fake_webui(extras_image_size=(64, 32)) as fake,
          pytest.raises(BadReplyError, match="upscaler 'R-ESRGAN 4x\\+' returned")):
        _pipeline(_server(fake.url)).run(astronaut, settings)


def test_the_servers_upscaler_enlarges_the_upright_crop_in_the_pipeline(astronaut) -> None:
    small = cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA)
    settings = FacePopSettings(enabled=True, upscaler="r-esrgan 4x+", face_width=256,
                               face_height=256)
    with running_fake_webui() as fake:
        (face,) = _pipeline(_server(fake.url)).run(small, settings).faces
    (body,) = fake.extras_requests
    sent = _decode(body["image"])
    assert body["upscaler_1"] == "R-ESRGAN 4x+"
    assert max(sent.shape[:2]) < 256  # the crop at its own resolution
    aligned = face.prepared.aligned
    assert aligned.upscaler == "R-ESRGAN 4x+" and aligned.image.shape == (256, 256, 3)
    assert np.abs(aligned.image[..., 2].astype(int) - aligned.image[..., 0]).max() <= 1


# --- checked against the settings before any work ------------------------------------------------

def _offer(*upscalers: str) -> ServerOffer:
    return ServerOffer(("CodeFormer", "GFPGAN"), ("None", "Lanczos", *upscalers))


def test_an_upscaler_no_server_has_is_refused_with_what_they_have() -> None:
    settings = FacePopSettings(upscaler="R-ESRGAN 4x")
    with pytest.raises(UnknownUpscalerError) as caught:
        check_upscaler(settings, {"http://a": _offer("ESRGAN_4x", "R-ESRGAN 4x+")})
    assert str(caught.value) == (
        "--upscaler 'R-ESRGAN 4x': no server has this upscaler; did you mean 'R-ESRGAN 4x+'? "
        "(the server has: ESRGAN_4x, R-ESRGAN 4x+; FacePop itself has Lanczos and None)")


def test_an_upscaler_one_server_has_or_facepops_own_passes_the_check() -> None:
    offers = {"http://a": _offer("ESRGAN_4x"), "http://b": _offer("SwinIR 4x")}
    check_upscaler(FacePopSettings(upscaler="swinir 4x"), offers)
    check_upscaler(FacePopSettings(upscaler="Lanczos"), {"http://a": _offer()})
    check_upscaler(FacePopSettings(upscaler="None"), {"http://a": _offer()})


def _said_by_server(url: str) -> tuple[Notices, io.StringIO]:
    """Notices said as the batch says them: progress lines naming the server."""
    stream = io.StringIO()
    progress = Progress(1, stream, bar=False)
    return Notices(ProgressLog(logging.getLogger("lib_facepop"), progress, url)), stream


def test_what_a_server_lacks_is_said_once_naming_it_and_recorded() -> None:
    settings = FacePopSettings(face_restoration="codeformer", upscaler="SwinIR 4x")
    server = WebUIServer("http://gpu2:7860")
    notices, stream = _said_by_server(server.url)
    tools = tool_set(server, ServerOffer(("GFPGAN",), ("None", "ESRGAN_4x")), settings,
                     notices)
    assert stream.getvalue().splitlines() == [
        "facepop: http://gpu2:7860: face restoration with CodeFormer is not available here; "
        "faces are not restored",
        "facepop: http://gpu2:7860: upscaler 'SwinIR 4x' is not available here (known here: "
        "Lanczos, None, ESRGAN_4x); faces are enlarged with Lanczos"]
    assert tools.record == {"url": "http://gpu2:7860", "face_restorer": None,
                            "upscaler": None}
    resolve_restorer(settings, tools.tools, tools.notices)  # its images: not said again
    resolve_upscaler(settings.upscaler, tools.tools, tools.notices)
    assert len(stream.getvalue().splitlines()) == 2


def test_a_server_with_what_is_asked_says_nothing_and_records_it() -> None:
    settings = FacePopSettings(face_restoration="gfpgan", upscaler="esrgan_4x")
    server = WebUIServer("http://gpu1:7860")
    notices, stream = _said_by_server(server.url)
    tools = tool_set(server, _offer("ESRGAN_4x"), settings, notices)
    assert stream.getvalue() == ""
    assert tools.record == {"url": "http://gpu1:7860", "face_restorer": "GFPGAN",
                            "upscaler": "ESRGAN_4x"}
