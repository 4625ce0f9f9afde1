"""Image files as a viewer sees them (EXIF orientation), transparency kept aside and given
back exactly, 16-bit and animated inputs, the pixel limit, and atomic writes."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from lib_facepop.errors import ImageError
from lib_facepop.images import (
    EXIF_ORIENTATION,
    PARTIAL_SUFFIX,
    ImageTooLargeError,
    read_image,
    restore_transparency,
    write_png,
)

# What a camera stores for each EXIF orientation: the inverse of the turn a viewer applies.
STORED_FOR_ORIENTATION = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def save_with_orientation(view: np.ndarray, orientation: int, path, **options) -> None:
    """Store ``view`` the way a camera holding it turned would, with the EXIF tag that
    turns it back; plus a camera make to see that other EXIF survives."""
    stored = Image.fromarray(view)
    method = STORED_FOR_ORIENTATION[orientation]
    if method is not None:
        stored = stored.transpose(method)
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    exif[0x010F] = "FacePop test camera"
    stored.save(path, exif=exif.tobytes(), **options)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_and_taken_out(tmp_path, orientation) -> None:
    view = (np.arange(30 * 50 * 3) % 251).astype(np.uint8).reshape(30, 50, 3)
    path = tmp_path / f"o{orientation}.png"
    save_with_orientation(view, orientation, path)
    loaded = read_image(path)
    assert np.array_equal(loaded.rgb, view) and loaded.size == (50, 30)
    exif = Image.Exif()
    exif.load(loaded.exif)
    assert EXIF_ORIENTATION not in exif and exif[0x010F] == "FacePop test camera"


def test_a_jpeg_of_orientation_6_reads_as_pillow_shows_it(tmp_path, astronaut) -> None:
    path = tmp_path / "phone.jpg"
    save_with_orientation(astronaut[:, :400], 6, path, quality=95)
    with Image.open(path) as img:
        assert img.size == (512, 400)  # stored sideways
        shown = np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
    loaded = read_image(path)
    assert loaded.size == (400, 512)
    assert np.array_equal(loaded.rgb, shown)


def test_an_rgb_colour_profile_is_kept_and_others_dropped(tmp_path, astronaut) -> None:
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    Image.fromarray(astronaut).save(tmp_path / "lab.png", icc_profile=lab)
    assert read_image(tmp_path / "lab.png").icc_profile is None  # it would misdescribe RGB
    path = tmp_path / "p.png"
    Image.fromarray(astronaut).save(path, icc_profile=profile)
    loaded = read_image(path)
    assert loaded.icc_profile == profile
    write_png(tmp_path / "out.png", loaded.rgb, icc_profile=loaded.icc_profile,
              exif=loaded.exif)
    with Image.open(tmp_path / "out.png") as out:
        assert out.info["icc_profile"] == profile


def test_transparency_is_kept_aside_and_given_back_exactly(tmp_path, astronaut) -> None:
    rgba = np.dstack([astronaut, np.zeros(astronaut.shape[:2], np.uint8)])
    rgba[100:400, 100:400, 3] = 255
    rgba[90:100, 100:400, 3] = np.linspace(0, 255, 10, dtype=np.uint8)[:, None]
    rgba[rgba[..., 3] == 0, :3] = (7, 200, 13)  # colour under full transparency
    path = tmp_path / "render.png"
    Image.fromarray(rgba, "RGBA").save(path)
    loaded = read_image(path)
    assert np.array_equal(loaded.alpha, rgba[..., 3])
    assert np.array_equal(loaded.colour, rgba[..., :3])
    assert tuple(loaded.rgb[0, 0]) == (255, 255, 255)  # flattened over white
    assert np.array_equal(loaded.rgb[200, 200], astronaut[200, 200])
    # Unchanged by the core: every value as it was, transparent colours too.
    assert np.array_equal(restore_transparency(loaded.rgb, loaded), rgba)
    # Changed: what shows over white through the same alpha is the result.
    result = loaded.rgb.copy()
    result[95, 150] = (200, 150, 120)
    result[200, 200] = (10, 20, 30)
    back = restore_transparency(result, loaded)
    assert np.array_equal(back[..., 3], rgba[..., 3])
    assert tuple(back[200, 200]) == (10, 20, 30, 255)
    alpha = rgba[95, 150, 3] / 255.0
    shown = back[95, 150, :3] * alpha + 255 * (1 - alpha)
    assert np.all(np.abs(shown - (200, 150, 120)) <= 1.0)
    untouched = np.ones(rgba.shape[:2], bool)
    untouched[95, 150] = untouched[200, 200] = False
    assert np.array_equal(back[untouched], rgba[untouched])


def test_16_bit_colour_is_noted_and_scaled(tmp_path) -> None:
    deep = np.zeros((20, 30, 3), np.uint16)
    deep[..., 2] = 65535  # red in OpenCV's BGR order
    deep[:, :15, 1] = 32896  # half-way green in the left half
    path = tmp_path / "deep.png"
    cv2.imwrite(str(path), deep)
    loaded = read_image(path)
    assert [note.kind for note in loaded.notes] == ["16-bit"]
    assert "written as 8-bit" in loaded.notes[0].text
    assert tuple(loaded.rgb[0, 0]) == (255, 128, 0) and tuple(loaded.rgb[0, 29]) == (255, 0, 0)


def test_dark_16_bit_grey_is_not_taken_for_8_bit(tmp_path) -> None:
    dark = np.full((16, 16), 200, np.uint16)  # 200 of 65535: nearly black
    path = tmp_path / "dark.png"
    Image.fromarray(dark).save(path)
    loaded = read_image(path)
    assert loaded.rgb.max() <= 1 and [n.kind for n in loaded.notes] == ["16-bit"]


def test_an_animation_gives_its_first_frame_and_says_so(tmp_path) -> None:
    frames = [Image.new("RGB", (20, 20), (40 * i, 0, 0)) for i in range(1, 4)]
    path = tmp_path / "loop.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    loaded = read_image(path)
    assert [note.kind for note in loaded.notes] == ["animated"]
    assert "3 frames; only the first" in loaded.notes[0].text
    assert tuple(loaded.rgb[5, 5]) == (40, 0, 0)


def test_too_many_pixels_are_refused_before_decoding(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # as the command line runs
    path = tmp_path / "huge.png"
    Image.new("1", (13500, 13500)).save(path)  # 182 megapixels, a small file
    with pytest.raises(ImageTooLargeError,
                       match=r"huge.png: 13500x13500 is 182.2 megapixels, above the limit "
                             r"of 100 megapixels; raise it with --max-megapixels"):
        read_image(path, max_pixels=100_000_000, limit_hint="--max-megapixels")


def test_pillows_own_limit_is_a_clear_error_too(tmp_path) -> None:
    path = tmp_path / "huge.png"
    Image.new("1", (13500, 13500)).save(path)
    with pytest.raises(ImageTooLargeError, match=r"huge.png: too large for the image "
                                                 r"library's safety limit \(182.2 megapix"):
        read_image(path)


# --- atomic writes ----------------------------------------------------------------------------

def test_a_write_that_breaks_off_leaves_no_file_under_the_final_name(tmp_path, monkeypatch,
                                                                      astronaut) -> None:
    target = tmp_path / "out" / "a.png"

    def breaks_off(self, fp, format=None, **params):
        fp.write(b"\x89PNG\r\n\x1a\n" + b"\0" * 1000)  # the start of a PNG, then ...
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", breaks_off)
    with pytest.raises(KeyboardInterrupt):
        write_png(target, astronaut)
    assert list(target.parent.iterdir()) == []  # no a.png, and no partial file left


def test_a_failed_rewrite_keeps_the_old_file(tmp_path, monkeypatch, astronaut) -> None:
    target = tmp_path / "a.png"
    write_png(target, astronaut)
    before = target.read_bytes()

    def fails(self, fp, format=None, **params):
        fp.write(b"\x89PNG")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", fails)
    with pytest.raises(OSError, match="No space"):
        write_png(target, astronaut[::2])
    assert target.read_bytes() == before
    assert not any(p.name.endswith(PARTIAL_SUFFIX) for p in tmp_path.iterdir())


def test_written_png_reads_back_with_alpha_and_exif(tmp_path) -> None:
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 3] = 128
    exif = Image.Exif()
    exif[0x010F] = "cam"
    write_png(tmp_path / "x.png", rgba, exif=exif.tobytes())
    with Image.open(tmp_path / "x.png") as img:
        assert img.mode == "RGBA" and img.getexif()[0x010F] == "cam"
        assert np.array_equal(np.asarray(img), rgba)


def test_unreadable_bytes_are_an_image_error(tmp_path) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(io.BytesIO(b"not a png").getvalue())
    with pytest.raises(ImageError, match="not an image file"):
        read_image(path)
