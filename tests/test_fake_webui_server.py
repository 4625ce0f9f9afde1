"""The loopback WebUI (tests/fake_webui_server.py) answers as A1111 v1.10.1 does, in the
ways the client tests rely on: request validation, seeds, grids, the latent grid, the
mask overlay, credentials and its misbehaviours."""

from __future__ import annotations

import base64
import urllib.request

import numpy as np

from tests.fake_webui_server import _decode, _encode, running_fake_webui, seed_in
from tests.helpers import post_json


def _body(image: np.ndarray, **fields) -> dict:
    return {"init_images": [_encode(image)], "width": image.shape[1],
            "height": image.shape[0], **fields}


def test_fields_of_the_wrong_type_get_fastapis_422_naming_them() -> None:
    image = np.zeros((64, 64, 3), np.uint8)
    with running_fake_webui() as server:
        status, reply = post_json(f"{server.url}/sdapi/v1/img2img",
                                  _body(image, steps="many", restore_faces="maybe",
                                        unknown_field=1))
    assert status == 422
    assert {tuple(e["loc"]) for e in reply["detail"]} == {("body", "steps"),
                                                           ("body", "restore_faces")}


def test_pydantic_coerces_like_the_webui() -> None:
    image = np.zeros((64, 64, 3), np.uint8)
    with running_fake_webui() as server:
        status, reply = post_json(f"{server.url}/sdapi/v1/img2img",
                                  _body(image, steps=12.7, seed="5"))
    assert status == 200 and reply["parameters"]["steps"] == 12
    assert seed_in(_decode(reply["images"][0])) == 5


def test_no_init_images_is_404() -> None:
    with running_fake_webui() as server:
        status, reply = post_json(f"{server.url}/sdapi/v1/img2img", {"prompt": "x"})
    assert (status, reply["detail"]) == (404, "Init image not found")


def test_a_batch_gets_a_grid_first_and_seeds_in_order() -> None:
    image = np.full((64, 64, 3), 40, np.uint8)
    with running_fake_webui() as server:
        _, reply = post_json(f"{server.url}/sdapi/v1/img2img",
                             _body(image, batch_size=2, seed=10))
    grid, *items = [_decode(item) for item in reply["images"]]
    assert grid.shape == (64, 128, 3)
    assert [seed_in(item) for item in items] == [10, 11]


def test_samples_come_out_on_the_latent_grid_and_a_mask_needs_the_grid() -> None:
    image = np.full((60, 70, 3), 40, np.uint8)
    mask = base64.b64encode(base64.b64decode(_encode(np.full((60, 70), 255, np.uint8))))
    with running_fake_webui() as server:
        _, plain = post_json(f"{server.url}/sdapi/v1/img2img", _body(image))
        status, masked = post_json(f"{server.url}/sdapi/v1/img2img",
                                   _body(image, mask=mask.decode(), inpainting_fill=1,
                                         inpaint_full_res=False))
    assert _decode(plain["images"][0]).shape == (56, 64, 3)
    assert (status, masked["errors"]) == (500, "images do not match")


def test_the_init_image_comes_back_where_the_mask_is_black() -> None:
    image = np.full((64, 64, 3), 40, np.uint8)
    mask = np.zeros((64, 64), np.uint8)
    mask[:, 32:] = 255
    with running_fake_webui() as server:
        _, reply = post_json(f"{server.url}/sdapi/v1/img2img",
                             _body(image, mask=_encode(mask), inpainting_fill=1,
                                   inpaint_full_res=False))
    out = _decode(reply["images"][0])
    assert np.all(out[:, :16] == 40)  # beyond the blur of the mask's edge: the init image
    assert np.all(out[1:, 48:] == 215)  # the sample


def test_credentials_are_wanted_on_every_route() -> None:
    with running_fake_webui(credentials=("u", "p")) as server:
        request = urllib.request.Request(f"{server.url}/sdapi/v1/samplers")
        try:
            urllib.request.urlopen(request, timeout=10)
        except urllib.error.HTTPError as exc:
            status, header = exc.code, exc.headers["WWW-Authenticate"]
        request.add_header("Authorization", "Basic " + base64.b64encode(b"u:p").decode())
        with urllib.request.urlopen(request, timeout=10) as response:
            samplers = response.read()
    assert (status, header) == (401, "Basic")
    assert b"Euler a" in samplers


def test_it_dies_after_the_answers_it_was_given() -> None:
    image = np.zeros((64, 64, 3), np.uint8)
    with running_fake_webui(die_after=1) as server:
        first, _ = post_json(f"{server.url}/sdapi/v1/img2img", _body(image))
        try:
            post_json(f"{server.url}/sdapi/v1/img2img", _body(image), timeout=10)
            second = "answered"
        except OSError:
            second = "no answer"
        assert server.dead.wait(10)
        try:
            post_json(f"{server.url}/sdapi/v1/img2img", _body(image), timeout=10)
            third = "answered"
        except OSError as exc:
            third = type(exc.reason if hasattr(exc, "reason") else exc).__name__
    assert (first, second, third) == (200, "no answer", "ConnectionRefusedError")
