"""The loopback WebUI (tests/fake_webui_server.py) answers as A1111 v1.10.1 does, in the
ways the client tests rely on: request validation, seeds, grids, the latent grid, the
mask overlay, credentials, the extras API (restorers, upscalers, their order, sizes and
refusals) and its misbehaviours."""

from __future__ import annotations

import base64
import json
import urllib.request

import numpy as np
from PIL import Image

from tests.fake_webui_server import _decode, _encode, restored_by, running_fake_webui, seed_in
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


# --- the extras API and the lists of restorers and upscalers ----------------------------------

def _get_json(url: str) -> list:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_it_lists_its_face_restorers_and_upscalers_in_the_webuis_form() -> None:
    with running_fake_webui(restorers=("GFPGAN",),
                            upscalers=(("None", 4), ("SwinIR 4x", 4))) as server:
        restorers = _get_json(f"{server.url}/sdapi/v1/face-restorers")
        upscalers = _get_json(f"{server.url}/sdapi/v1/upscalers")
    assert restorers == [{"name": "GFPGAN", "cmd_dir": None}]
    assert [u["name"] for u in upscalers] == ["None", "SwinIR 4x"]
    assert set(upscalers[1]) == {"name", "model_name", "model_path", "model_url", "scale"}


def test_restoration_keeps_the_size_and_blends_at_its_visibility() -> None:
    image = _photo(48, 64)
    with running_fake_webui() as server:
        status, reply = post_json(f"{server.url}/sdapi/v1/extra-single-image",
                                  {"image": _encode(image), "codeformer_visibility": 0.5,
                                   "codeformer_weight": 0.7, "upscaling_resize": 1})
    restored = Image.fromarray(restored_by("CodeFormer", image, 0.7))
    expected = np.asarray(Image.blend(Image.fromarray(image), restored, 0.5))
    assert status == 200
    assert np.array_equal(_decode(reply["image"]), expected)
    assert "CodeFormer weight: 0.7" in reply["html_info"]


def test_gfpgan_runs_before_codeformer_each_at_its_visibility() -> None:
    image = _photo(32, 32)
    with running_fake_webui() as server:
        _, reply = post_json(f"{server.url}/sdapi/v1/extra-single-image",
                             {"image": _encode(image), "gfpgan_visibility": 1,
                              "codeformer_visibility": 1, "codeformer_weight": 0.2})
    expected = restored_by("CodeFormer", restored_by("GFPGAN", image, 0.2), 0.2)
    assert np.array_equal(_decode(reply["image"]), expected)


def test_upscale_to_scales_by_the_larger_ratio_and_rounds_down_to_8_px() -> None:
    image = _photo(20, 30)
    body = {"image": _encode(image), "resize_mode": 1, "upscaling_resize_w": 100,
            "upscaling_resize_h": 100, "upscaler_1": "R-ESRGAN 4x+"}
    with running_fake_webui() as server:
        _, loose = post_json(f"{server.url}/sdapi/v1/extra-single-image",
                             dict(body, upscaling_crop=False))
        _, cropped = post_json(f"{server.url}/sdapi/v1/extra-single-image", body)
    loose_image, cropped_image = _decode(loose["image"]), _decode(cropped["image"])
    # scale max(100/30, 100/20) = 5: 150x100, rounded down to 144x96
    assert loose_image.shape == (96, 144, 3)
    assert np.array_equal(loose_image[..., 2], loose_image[..., 0])  # the model's mark
    # crop to fit: centred on a black 100x100 canvas (2 rows above, 2 below)
    assert cropped_image.shape == (100, 100, 3)
    assert not cropped_image[:2].any() and not cropped_image[98:].any()
    assert np.array_equal(cropped_image[2:98], loose_image[:, 22:122])


def test_lanczos_on_the_server_resizes_by_the_asked_scale() -> None:
    image = _photo(16, 16)
    with running_fake_webui() as server:
        _, reply = post_json(f"{server.url}/sdapi/v1/extra-single-image",
                             {"image": _encode(image), "upscaling_resize": 3,
                              "upscaler_1": "Lanczos"})
    expected = np.asarray(Image.fromarray(image).resize((48, 48), resample=Image.LANCZOS))
    assert np.array_equal(_decode(reply["image"]), expected)


def test_the_extras_route_refuses_what_the_webui_refuses() -> None:
    image = _encode(_photo(16, 16))
    route = "/sdapi/v1/extra-single-image"
    with running_fake_webui(restorers=("GFPGAN",)) as server:
        out_of_range = post_json(f"{server.url}{route}",
                                 {"image": image, "codeformer_visibility": 1.5, "resize_mode": 2})
        unknown = post_json(f"{server.url}{route}", {"image": image, "upscaler_1": "4x-Foo"})
        no_image = post_json(f"{server.url}{route}", {"gfpgan_visibility": 1})
        missing = post_json(f"{server.url}{route}", {"image": image,
                                                     "codeformer_visibility": 1})
    assert out_of_range[0] == 422
    assert {tuple(e["loc"]) for e in out_of_range[1]["detail"]} == {
        ("body", "codeformer_visibility"), ("body", "resize_mode")}
    assert unknown == (500, {"error": "AssertionError", "detail": "", "body": "",
                             "errors": "could not find upscaler named 4x-Foo"})
    assert no_image == (500, {"detail": "Invalid encoded image"})
    assert missing[0] == 500 and missing[1]["error"] == "AttributeError"


def test_the_extras_route_misbehaves_as_told() -> None:
    body = {"image": _encode(_photo(16, 16)), "gfpgan_visibility": 1}
    with running_fake_webui(extras_fail_first=1, extras_image_size=(8, 4)) as server:
        first = post_json(f"{server.url}/sdapi/v1/extra-single-image", body)
        second = post_json(f"{server.url}/sdapi/v1/extra-single-image", body)
    assert (first[0], first[1]["errors"]) == (500, "CUDA out of memory")
    assert second[0] == 200 and _decode(second[1]["image"]).shape == (4, 8, 3)
    assert len(server.extras_requests) == 2 and server.requests == []


def test_a_restorer_that_finds_no_face_returns_the_image_as_it_was() -> None:
    image = _photo(24, 24)
    with running_fake_webui(restorer_finds_no_face=True) as server:
        _, reply = post_json(f"{server.url}/sdapi/v1/extra-single-image",
                             {"image": _encode(image), "codeformer_visibility": 1})
    assert np.array_equal(_decode(reply["image"]), image)


def test_without_the_extras_api_its_routes_are_not_found_and_img2img_still_works() -> None:
    """A WebUI before the extras API, a fork without it, or a proxy that forwards only
    img2img: the routes answer as any route FastAPI does not know."""
    image = np.zeros((64, 64, 3), np.uint8)
    with running_fake_webui(extras_api=False) as server:
        listed = [_status(f"{server.url}/sdapi/v1/{route}")
                  for route in ("face-restorers", "upscalers")]
        extras = post_json(f"{server.url}/sdapi/v1/extra-single-image",
                           {"image": _encode(image), "gfpgan_visibility": 1})
        img2img = post_json(f"{server.url}/sdapi/v1/img2img", _body(image))
        samplers = _get_json(f"{server.url}/sdapi/v1/samplers")
    assert listed == [(404, {"detail": "Not Found"})] * 2
    assert extras == (404, {"detail": "Not Found"}) and server.extras_requests == []
    assert img2img[0] == 200 and samplers


def _status(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
