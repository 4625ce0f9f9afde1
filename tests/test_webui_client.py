"""The WebUI server client against a WebUI-like server on loopback (tests/fake_webui_server):
batches, retries, refusals, reply checks, credentials, and the main pass."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from lib_facepop.api_client import (
    BadReplyError,
    Credentials,
    RetryPolicy,
    ServerError,
    ServerRefusedError,
    ServerUnavailableError,
    WebUIServer,
    parse_credentials,
)
from lib_facepop.api_client.face_pass import (
    ServerJob,
    WebUIServerProcessor,
    batches_for_api,
)
from lib_facepop.api_client.main_pass import main_pass
from lib_facepop.processors import FacePassParams, FaceTask
from lib_facepop.protect import main_pass_mask
from tests.fake_webui_server import _decode, _decode_mask, running_fake_webui, seed_in


def _task(index: int, seed: int, prompt: str = "p", value: int = 10, size: int = 64
          ) -> FaceTask:
    return FaceTask(index=index, image=np.full((size, size, 3), value, np.uint8),
                    prompt=prompt, negative_prompt="n", seed=seed)


def _server(url: str, sleeps: list[float] | None = None, retries: int = 3,
            **kwargs) -> WebUIServer:
    """A client that records its waits instead of sleeping."""
    waits = sleeps if sleeps is not None else []
    return WebUIServer(url, retry=RetryPolicy(retries=retries, first_delay=1.5),
                       sleep=waits.append, **kwargs)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- batches --------------------------------------------------------------------------------

def test_consecutive_seeds_with_one_prompt_go_in_one_request() -> None:
    tasks = [_task(0, 7), _task(1, 8), _task(2, 9)]
    assert [[t.index for t in b] for b in batches_for_api(tasks)] == [[0, 1, 2]]


def test_other_prompts_or_seeds_split_requests() -> None:
    tasks = [_task(0, 7), _task(1, 8, prompt="q"), _task(2, 9, prompt="q"), _task(3, 9,
                                                                             prompt="q")]
    assert [[t.index for t in b] for b in batches_for_api(tasks)] == [[0], [1, 2], [3]]


def test_faces_per_request_are_capped_and_seeds_continue() -> None:
    tasks = [_task(i, 100 + i, value=10 + i) for i in range(5)]
    with running_fake_webui() as server:
        processor = WebUIServerProcessor(_server(server.url), face_batch=2)
        outputs = processor.process(tasks, FacePassParams())
    assert [body["batch_size"] for body in server.requests] == [2, 2, 1]
    assert [body["seed"] for body in server.requests] == [100, 102, 104]
    assert [seed_in(out) for out in outputs] == [100, 101, 102, 103, 104]
    assert [int(out[5, 5, 0]) for out in outputs] == [245, 244, 243, 242, 241]


def test_faces_are_sent_in_one_batch_and_come_back_in_order_with_their_seeds() -> None:
    tasks = [_task(0, 100, value=10), _task(1, 101, value=20), _task(2, 102, value=30)]
    with running_fake_webui() as server:
        processor = WebUIServerProcessor(server.url, ServerJob(steps=30, cfg_scale=6.0,
                                                               denoising_strength=0.5,
                                                               sampler_name="Euler a"))
        outputs = processor.process(tasks, FacePassParams(steps=12))
    assert len(server.requests) == 1
    body = server.requests[0]
    assert body["batch_size"] == 3 and len(body["init_images"]) == 3
    assert (body["steps"], body["cfg_scale"], body["denoising_strength"]) == (12, 6.0, 0.5)
    assert (body["width"], body["height"], body["seed"]) == (64, 64, 100)
    assert body["sampler_name"] == "Euler a" and "mask" not in body
    assert body["override_settings"] == {"return_grid": False}
    assert [seed_in(out) for out in outputs] == [100, 101, 102]
    assert [int(out[5, 5, 0]) for out in outputs] == [245, 235, 225]


def test_extra_api_fields_are_sent_and_override_settings_merged() -> None:
    job = ServerJob(extra={"override_settings": {"CLIP_stop_at_last_layers": 2},
                           "restore_faces": False})
    with running_fake_webui() as server:
        WebUIServerProcessor(server.url, job).process([_task(0, 1)], FacePassParams())
    body = server.requests[0]
    assert body["override_settings"] == {"CLIP_stop_at_last_layers": 2, "return_grid": False}
    assert body["restore_faces"] is False


def test_a_returned_grid_is_dropped() -> None:
    tasks = [_task(0, 1), _task(1, 2)]
    with running_fake_webui() as server:
        processor = WebUIServerProcessor(server.url)
        # Pretend the server ignored the override: strip it from the body.
        original = processor.request_body

        def without_override(batch, params):
            body = original(batch, params)
            del body["override_settings"]
            return body

        processor.request_body = without_override  # type: ignore[method-assign]
        outputs = processor.process(tasks, FacePassParams())
    assert [seed_in(out) for out in outputs] == [1, 2]
    assert outputs[0].shape == (64, 64, 3)


# --- replies are checked ------------------------------------------------------------------

def test_images_of_the_wrong_size_are_refused_not_resized() -> None:
    with running_fake_webui(image_size=(64, 32)) as server:
        processor = WebUIServerProcessor(_server(server.url))
        with pytest.raises(BadReplyError, match=r"returned a 64x32 image for 720x720"):
            processor.process([_task(0, 1, size=720)], FacePassParams())
    assert len(server.requests) == 1  # a wrong answer is not asked again of the same server


def test_the_wrong_number_of_images_is_refused() -> None:
    with running_fake_webui(extra_images=-1) as server:
        processor = WebUIServerProcessor(_server(server.url))
        with pytest.raises(BadReplyError, match=r"returned 2 image\(s\) for 3"):
            processor.process([_task(i, i) for i in range(3)], FacePassParams())


def test_a_size_off_the_latent_grid_comes_back_rounded_and_is_accepted() -> None:
    with running_fake_webui() as server:
        (out,) = WebUIServerProcessor(_server(server.url)).process([_task(0, 5, size=100)],
                                                                   FacePassParams())
    assert out.shape == (96, 96, 3)  # as the WebUI samples it; the pipeline resizes it


# --- retries --------------------------------------------------------------------------------

def test_http_500_once_is_retried_after_a_wait() -> None:
    sleeps: list[float] = []
    with running_fake_webui(fail_first=1) as server:
        (out,) = WebUIServerProcessor(_server(server.url, sleeps)).process(
            [_task(0, 9)], FacePassParams())
    assert seed_in(out) == 9
    assert len(server.requests) == 2 and sleeps == [1.5]


def test_http_500_always_fails_after_the_retries_with_growing_waits() -> None:
    sleeps: list[float] = []
    with running_fake_webui(fail_first=100) as server:
        processor = WebUIServerProcessor(_server(server.url, sleeps, retries=3))
        with pytest.raises(ServerUnavailableError, match=r"HTTP 500 CUDA out of memory"):
            processor.process([_task(0, 9)], FacePassParams())
    assert len(server.requests) == 4 and sleeps == [1.5, 3.0, 6.0]


def test_an_answer_that_is_not_json_is_retried_then_reported() -> None:
    sleeps: list[float] = []
    with running_fake_webui(not_json=True) as server, \
            pytest.raises(ServerUnavailableError, match=r"not JSON: '<html>Bad Gateway"):
        _server(server.url, sleeps, retries=1).img2img({"init_images": []}, 1, [(64, 64)])
    assert len(server.requests) == 2 and sleeps == [1.5]


def test_no_answer_in_time_is_a_timeout() -> None:
    with running_fake_webui(delay=3.0) as server:
        client = _server(server.url, retries=0, timeout=0.3)
        with pytest.raises(ServerUnavailableError, match=r"no answer within 0.3 s"):
            WebUIServerProcessor(client).process([_task(0, 1)], FacePassParams())


def test_an_unreachable_server_says_so_after_the_retries() -> None:
    sleeps: list[float] = []
    client = _server(f"http://127.0.0.1:{_free_port()}", sleeps, retries=2, timeout=5)
    with pytest.raises(ServerUnavailableError, match=r"can't connect.*running with --api"):
        WebUIServerProcessor(client).process([_task(0, 1)], FacePassParams())
    assert sleeps == [1.5, 3.0]


def test_a_server_that_dies_during_the_request_is_unavailable() -> None:
    with running_fake_webui(die_after=0) as server:
        client = _server(server.url, retries=1)
        with pytest.raises(ServerUnavailableError):
            WebUIServerProcessor(client).process([_task(0, 1)], FacePassParams())


# --- refusals ---------------------------------------------------------------------------------

def test_a_422_shows_the_servers_words_and_is_not_retried() -> None:
    sleeps: list[float] = []
    with running_fake_webui() as server:
        processor = WebUIServerProcessor(_server(server.url, sleeps),
                                         ServerJob(extra={"restore_faces": "maybe"}))
        with pytest.raises(ServerRefusedError) as caught:
            processor.process([_task(0, 1)], FacePassParams())
    assert caught.value.status == 422 and not caught.value.server_level
    assert "restore_faces: value could not be parsed to a boolean" in str(caught.value)
    assert len(server.requests) == 1 and sleeps == []


def test_a_4xx_with_a_message_shows_it() -> None:
    with running_fake_webui(status=413, message="Request Entity Too Large") as server, \
            pytest.raises(ServerRefusedError, match=r"HTTP 413 Request Entity Too Large"):
        WebUIServerProcessor(_server(server.url)).process([_task(0, 1)], FacePassParams())


def test_credentials_the_server_wants() -> None:
    with running_fake_webui(credentials=("ann", "s3:cret")) as server:
        with pytest.raises(ServerRefusedError, match=r"HTTP 401 Not authenticated.*--api-auth"
                           ) as caught:
            _server(server.url).probe()
        assert caught.value.server_level
        with pytest.raises(ServerRefusedError, match="401 Incorrect username or password"):
            _server(server.url, credentials=Credentials("ann", "wrong")).probe()
        good = _server(server.url, credentials=parse_credentials("ann:s3:cret"))
        good.probe()
        (out,) = WebUIServerProcessor(good).process([_task(0, 3)], FacePassParams())
    assert seed_in(out) == 3


def test_a_server_without_the_api_is_refused_at_the_probe() -> None:
    with running_fake_webui() as server:
        client = _server(server.url + "/not-here")
        with pytest.raises(ServerRefusedError, match=r"404.*--api") as caught:
            client.probe()
    assert caught.value.server_level


@pytest.mark.parametrize("url", ["127.0.0.1:7860", "ftp://host", "http://", "http://h:x",
                                 "http://a:b@host:7860", "http://host/?q=1"])
def test_urls_that_are_no_server_urls_are_refused(url) -> None:
    with pytest.raises(ServerError, match="not a server URL"):
        WebUIServer(url)


def test_credentials_need_user_and_colon() -> None:
    for text in ("nopass", ":x"):
        with pytest.raises(ValueError, match="USER:PASS"):
            parse_credentials(text)
    assert parse_credentials("u:") == Credentials("u", "")


# --- the main pass ----------------------------------------------------------------------------

def test_main_pass_keeps_the_faces_and_works_everywhere_else(astronaut) -> None:
    image = np.ascontiguousarray(astronaut[:383, :510])  # not on the latent grid
    face_mask = np.zeros(image.shape[:2], np.float32)
    face_mask[60:220, 150:300] = 1.0
    face_mask[40:60, 150:300] = np.linspace(0, 1, 20)[:, None]  # a soft edge
    job = ServerJob(steps=25, cfg_scale=5.0, denoising_strength=0.3, sampler_name="DPM++ 2M")
    with running_fake_webui() as server:
        result = main_pass(_server(server.url), image, face_mask, job, "photo", "blurry", 77)
    (body,) = server.requests
    assert result.shape == image.shape
    # What the extension sets in-process: mask = where the main pass may work, "original"
    # content, the whole picture, not inverted.
    assert (body["inpainting_fill"], body["inpaint_full_res"],
            body["inpainting_mask_invert"]) == (1, False, 0)
    assert (body["width"], body["height"]) == (512, 384)
    assert (body["prompt"], body["negative_prompt"], body["seed"], body["steps"],
            body["cfg_scale"], body["denoising_strength"], body["sampler_name"]) == (
        "photo", "blurry", 77, 25, 5.0, 0.3, "DPM++ 2M")
    sent_mask = _decode_mask(body["mask"])[:383, :510]
    expected = np.rint(main_pass_mask(face_mask, None, invert=False) * 255)
    assert np.array_equal(sent_mask, expected.astype(np.uint8))
    assert _decode(body["init_images"][0]).shape == (384, 512, 3)
    # Deep inside the face: the init image, exactly; far from it: the main pass's pixels.
    assert np.array_equal(result[100:180, 190:260], image[100:180, 190:260])
    assert np.array_equal(result[300:, :100], 255 - image[300:, :100])


def test_main_pass_without_faces_is_plain_img2img(coffee) -> None:
    with running_fake_webui() as server:
        result = main_pass(_server(server.url), coffee, None, ServerJob(), "", "", 1)
    (body,) = server.requests
    assert "mask" not in body and body["batch_size"] == 1
    assert np.array_equal(result[5:, 5:], 255 - coffee[5:, 5:])


def test_the_eyes_pass_is_sent_without_the_jobs_always_on_scripts() -> None:
    controlnet = {"ControlNet": {"args": [{"enabled": True, "module": "ip-adapter"}]}}
    processor = WebUIServerProcessor("http://127.0.0.1:9", ServerJob(
        extra={"alwayson_scripts": controlnet}))
    face_body = processor.request_body([_task(0, 1)], FacePassParams())
    assert face_body["alwayson_scripts"] == controlnet
    eyes_body = processor.request_body([_task(0, 1)], FacePassParams(
        steps=20, always_on_scripts=False))
    assert "alwayson_scripts" not in eyes_body and eyes_body["steps"] == 20
