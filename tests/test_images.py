"""Reading images of every common kind, and clear errors for what can't be read."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lib_facepop.errors import ImageError
from lib_facepop.images import load_image, to_rgb8


def test_rgb_png_reads_back_exactly(tmp_path, astronaut) -> None:
    path = tmp_path / "a.png"
    Image.fromarray(astronaut).save(path)
    loaded = load_image(path)
    assert loaded.dtype == np.uint8 and loaded.shape == (512, 512, 3)
    assert np.array_equal(loaded, astronaut)


def test_greyscale_becomes_three_equal_channels(tmp_path, astronaut) -> None:
    path = tmp_path / "grey.png"
    Image.fromarray(astronaut).convert("L").save(path)
    loaded = load_image(path)
    assert loaded.shape == (512, 512, 3)
    assert np.array_equal(loaded[..., 0], loaded[..., 2])


def test_rgba_is_flattened_over_white(tmp_path) -> None:
    pixels = np.zeros((8, 8, 4), np.uint8)
    pixels[..., 0] = 200
    pixels[:4, :, 3] = 255  # top half opaque red, bottom half transparent
    path = tmp_path / "rgba.png"
    Image.fromarray(pixels, "RGBA").save(path)
    loaded = load_image(path)
    assert loaded.shape == (8, 8, 3)
    assert tuple(loaded[0, 0]) == (200, 0, 0)
    assert tuple(loaded[7, 7]) == (255, 255, 255)


def test_16_bit_png_is_scaled_not_clipped(tmp_path) -> None:
    ramp = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(ramp).save(path)
    loaded = load_image(path)
    assert loaded.shape == (64, 64, 3)
    assert loaded[0, 0, 0] == 0 and loaded[-1, -1, 0] == 255
    assert 120 <= loaded[32, 0, 0] <= 135  # mid-grey stays mid-grey


def test_palette_image_reads_as_rgb(tmp_path, astronaut) -> None:
    path = tmp_path / "palette.gif"
    Image.fromarray(astronaut).convert("P").save(path)
    assert load_image(path).shape == (512, 512, 3)


@pytest.mark.parametrize("shape", [(1, 1, 3), (1, 1), (1, 40, 3)])
def test_too_small_images_are_refused_with_their_size(shape) -> None:
    with pytest.raises(ImageError, match="too small"):
        to_rgb8(np.zeros(shape, np.uint8))


def test_1x1_png_file_gives_a_clear_error(tmp_path) -> None:
    path = tmp_path / "dot.png"
    Image.new("RGB", (1, 1)).save(path)
    with pytest.raises(ImageError, match=r"dot.png.*1x1 is too small"):
        load_image(path)


def test_not_an_image_names_the_file(tmp_path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("this is text")
    with pytest.raises(ImageError, match=r"notes\.png: not an image"):
        load_image(path)


def test_truncated_png_names_the_file(tmp_path, astronaut) -> None:
    path = tmp_path / "cut.png"
    Image.fromarray(astronaut).save(path)
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(ImageError, match=r"cut\.png"):
        load_image(path)


def test_missing_file_and_folder_are_named(tmp_path) -> None:
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "absent.png")
    with pytest.raises(ImageError, match="is a folder"):
        load_image(tmp_path)


def test_arrays_of_other_shapes_and_values_are_refused() -> None:
    with pytest.raises(ImageError, match="shape"):
        to_rgb8(np.zeros((4, 4, 5), np.uint8))
    with pytest.raises(ImageError, match="NaN"):
        to_rgb8(np.full((4, 4, 3), np.nan, np.float32))


def test_float_images_in_unit_range_become_8_bit() -> None:
    assert to_rgb8(np.full((4, 4, 3), 0.5, np.float32))[0, 0, 0] == 128
