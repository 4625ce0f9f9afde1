"""Self-tests of the test double's face restorers and upscalers (shared.face_restorers,
shared.sd_upscalers), each against the A1111 v1.10.1 behaviour it imitates."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.webui_double_fixtures import webui  # noqa: F401 (the fixture)


def _gradient(width: int = 40, height: int = 24) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width]
    return np.stack([xs * 6 % 256, ys * 10 % 256, (xs + ys) * 3 % 256], axis=-1).astype(np.uint8)


def test_face_restorers_are_codeformer_then_gfpgan_with_the_hosts_signatures(webui):  # noqa: F811
    shared = webui.shared
    codeformer, gfpgan = shared.face_restorers
    assert (codeformer.name(), gfpgan.name()) == ("CodeFormer", "GFPGAN")
    image = _gradient()

    restored = codeformer.restore(image, w=0.25)
    assert restored.dtype == np.uint8 and restored.shape == image.shape
    expected = np.floor(image * 0.25 + (255.0 - image) * 0.75 + 0.5)
    assert np.array_equal(restored, expected.astype(np.uint8))
    assert np.array_equal(codeformer.restore(image, w=1.0), image)
    codeformer.restore(image)  # no weight: the host's option
    calls = webui.codeformer_model.restore_calls
    assert [call["w"] for call in calls] == [0.25, 1.0, 0.5]
    assert np.array_equal(calls[0]["image"], image)

    assert np.array_equal(gfpgan.restore(image), image[:, :, ::-1])
    with pytest.raises(TypeError):  # GFPGAN has no weight, as in the host
        gfpgan.restore(image, w=0.5)


def test_restore_faces_uses_the_restorer_the_option_names(webui):  # noqa: F811
    image = _gradient()
    restoration = webui.face_restoration
    assert np.array_equal(restoration.restore_faces(image),
                          webui.codeformer_model.FaceRestorerCodeFormer("").restore(image))
    webui.shared.opts.face_restoration_model = "GFPGAN"
    assert np.array_equal(restoration.restore_faces(image), image[:, :, ::-1])
    webui.shared.opts.face_restoration_model = "Nobody"
    assert restoration.restore_faces(image) is image


def test_restore_faces_of_a_job_runs_before_postprocess_image(webui, tmp_path):  # noqa: F811
    webui.load_scripts()
    webui.create_ui()
    p = webui.processing.StableDiffusionProcessingImg2Img(
        init_images=[Image.new("RGB", (32, 32), (10, 200, 30))], width=32, height=32,
        prompt="x", seed=4, denoising_strength=0.0, restore_faces=True,
        do_not_save_samples=True, do_not_save_grid=True)
    webui.shared.opts.face_restoration_model = "GFPGAN"
    (image,) = webui.processing.process_images(p).images
    assert image.getpixel((5, 5)) == (30, 200, 10)
    assert "Face restoration: GFPGAN" in image.info["parameters"]


def test_sd_upscalers_are_the_built_ins_then_the_models_by_name(webui):  # noqa: F811
    upscalers = webui.shared.sd_upscalers
    assert [u.name for u in upscalers] == ["None", "Lanczos", "Nearest", "R-ESRGAN 4x+"]
    assert [u.data_path for u in upscalers[:3]] == [None, None, None]
    assert upscalers[3].data_path.endswith("RealESRGAN_x4plus.pth") and upscalers[3].scale == 4


def test_upscale_rounds_down_to_8_and_calls_the_model_until_large_enough(webui):  # noqa: F811
    esrgan = webui.shared.sd_upscalers[3]
    image = Image.fromarray(_gradient(50, 30))
    calls = webui.realesrgan_model.upscale_calls

    once = esrgan.scaler.upscale(image, 2.5, esrgan.data_path)
    assert once.size == (120, 72)  # 125 x 75, rounded down to 8
    assert [c["size"] for c in calls] == [(50, 30)] and calls[0]["path"] == esrgan.data_path
    # One 4x NEAREST pass, colours inverted, then LANCZOS down to the target size.
    expected = Image.fromarray(255 - _gradient(50, 30)).resize((200, 120), Image.NEAREST)
    assert once == expected.resize((120, 72), Image.LANCZOS)

    calls.clear()
    twice = esrgan.scaler.upscale(image, 7.0, esrgan.data_path)
    assert twice.size == (344, 208)  # 350 x 210 rounded down to 8
    assert [c["size"] for c in calls] == [(50, 30), (200, 120)]

    lanczos, none = webui.shared.sd_upscalers[1], webui.shared.sd_upscalers[0]
    assert lanczos.scaler.upscale(image, 2.5, None) == image.resize(
        (125, 75), Image.LANCZOS).resize((120, 72), Image.LANCZOS)
    assert none.scaler.upscale(image, 2.5, None).size == (120, 72)


def test_resize_image_enlarges_through_the_named_upscaler(webui, capsys):  # noqa: F811
    images, calls = webui.images, webui.realesrgan_model.upscale_calls
    image = Image.fromarray(_gradient(50, 30))
    assert images.resize_image(0, image, 100, 60).size == (100, 60) and not calls
    resized = images.resize_image(0, image, 100, 60, upscaler_name="R-ESRGAN 4x+")
    assert len(calls) == 1 and resized.size == (100, 60)
    assert np.asarray(resized).mean() == pytest.approx(255 - np.asarray(image).mean(), abs=3)
    images.resize_image(0, image, 25, 15, upscaler_name="R-ESRGAN 4x+")  # smaller: no model
    assert len(calls) == 1
    images.resize_image(0, image, 100, 60, upscaler_name="nobody")
    assert "could not find upscaler named nobody, using None as a fallback" in (
        capsys.readouterr().out)
