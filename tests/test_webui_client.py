"""The HTTP client processor against a WebUI-like server on loopback."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from lib_facepop.processors import FacePassParams, FaceTask
from lib_facepop.processors.webui_client import (
    ServerError,
    ServerJob,
    WebUIServerProcessor,
    batches_for_api,
)
from tests.fake_webui_server import running_fake_webui, seed_in


def _task(index: int, seed: int, prompt: str = "p", value: int = 10) -> FaceTask:
    return FaceTask(index=index, image=np.full((64, 64, 3), value, np.uint8), prompt=prompt,
                    negative_prompt="n", seed=seed)


def test_consecutive_seeds_with_one_prompt_go_in_one_request() -> None:
    tasks = [_task(0, 7), _task(1, 8), _task(2, 9)]
    assert [[t.index for t in b] for b in batches_for_api(tasks)] == [[0, 1, 2]]


def test_other_prompts_or_seeds_split_requests() -> None:
    tasks = [_task(0, 7), _task(1, 8, prompt="q"), _task(2, 9, prompt="q"), _task(3, 9,
                                                                             prompt="q")]
    assert [[t.index for t in b] for b in batches_for_api(tasks)] == [[0], [1, 2], [3]]


def test_faces_are_sent_in_one_batch_and_come_back_in_order_with_their_seeds() -> None:
    tasks = [_task(0, 100, value=10), _task(1, 101, value=20), _task(2, 102, value=30)]
    with running_fake_webui() as server:
        processor = WebUIServerProcessor(server.url, ServerJob(steps=30, cfg_scale=6.0,
                                                               denoising_strength=0.5))
        outputs = processor.process(tasks, FacePassParams(steps=12))
    assert len(server.requests) == 1
    body = server.requests[0]
    assert body["batch_size"] == 3 and len(body["init_images"]) == 3
    assert (body["steps"], body["cfg_scale"], body["denoising_strength"]) == (12, 6.0, 0.5)
    assert (body["width"], body["height"], body["seed"]) == (64, 64, 100)
    assert body["override_settings"] == {"return_grid": False}
    assert [seed_in(out) for out in outputs] == [100, 101, 102]
    assert [int(out[5, 5, 0]) for out in outputs] == [245, 235, 225]


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


def test_an_http_error_reports_the_servers_words() -> None:
    with running_fake_webui() as server:
        processor = WebUIServerProcessor(server.url, ServerJob(extra={"restore_faces": "maybe"}))
        with pytest.raises(ServerError, match=r"HTTP 422.*restore_faces"):
            processor.process([_task(0, 1)], FacePassParams())


def test_an_unreachable_server_says_so() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    processor = WebUIServerProcessor(f"http://127.0.0.1:{port}", timeout=5)
    with pytest.raises(ServerError, match="can't reach the WebUI server"):
        processor.process([_task(0, 1)], FacePassParams())


def test_a_url_without_scheme_is_refused() -> None:
    with pytest.raises(ServerError, match="http://"):
        WebUIServerProcessor("127.0.0.1:7860")


def test_the_eyes_pass_is_sent_without_the_jobs_always_on_scripts() -> None:
    controlnet = {"ControlNet": {"args": [{"enabled": True, "module": "ip-adapter"}]}}
    processor = WebUIServerProcessor("http://127.0.0.1:9", ServerJob(
        extra={"alwayson_scripts": controlnet}))
    face_body = processor.request_body([_task(0, 1)], FacePassParams())
    assert face_body["alwayson_scripts"] == controlnet
    eyes_body = processor.request_body([_task(0, 1)], FacePassParams(
        steps=20, always_on_scripts=False))
    assert "alwayson_scripts" not in eyes_body and eyes_body["steps"] == 20
