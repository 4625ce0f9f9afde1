"""Reading images and bringing any pixel array to the one form the core uses; writing them.

Inside FacePop an image is always a C-contiguous ``uint8`` RGB array of shape (H, W, 3).
Files are read as a viewer shows them (EXIF orientation applied); transparency is kept
aside and flattened over white for the core (as the WebUI flattens img2img inputs), so a
result can get the image's own colours and alpha back (``restore_transparency``). Files are
written atomically: a file under its final name is always whole.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from lib_facepop.errors import ImageError

MIN_SIDE = 2
EXIF_ORIENTATION = 0x0112
PARTIAL_SUFFIX = ".facepop-partial"
"""Suffix of a file being written; it is renamed to its final name once whole."""
_FRAME_MODES = ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "1", "RGBX", "RGBa", "La")


@dataclass(frozen=True)
class ImageNote:
    """Something done to an input that its owner should know (kind: "16-bit", ...)."""

    kind: str
    text: str


@dataclass(frozen=True)
class LoadedImage:
    """An image file as a viewer sees it."""

    rgb: np.ndarray
    """What the core works on: RGB uint8, transparency flattened over white."""
    colour: np.ndarray
    """The image's own RGB values (differ from ``rgb`` only where it is transparent)."""
    alpha: np.ndarray | None
    """(H, W) uint8 alpha where the image has an alpha channel, else None."""
    exif: bytes | None = None
    """The image's EXIF with the orientation taken out (it is applied to the pixels)."""
    icc_profile: bytes | None = None
    notes: tuple[ImageNote, ...] = ()

    @property
    def size(self) -> tuple[int, int]:
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])


class ImageTooLargeError(ImageError):
    """An image has more pixels than the limit allows."""


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as RGB uint8, whatever its mode (grey, RGBA, 16-bit, palette)."""
    return read_image(path).rgb


def read_image(path: str | os.PathLike[str], max_pixels: int | None = None,
               limit_hint: str = "") -> LoadedImage:
    """Read an image file as a viewer sees it: EXIF orientation applied, first frame of an
    animation, 16-bit reduced to 8-bit (each said in ``notes``), alpha kept aside.

    ``max_pixels`` refuses bigger images before their pixels are decoded; ``limit_hint``
    (e.g. the flag that raises the limit) is added to that message.
    """
    file = Path(path)
    if not file.exists():
        raise ImageError(f"{path}: no such file")
    if file.is_dir():
        raise ImageError(f"{path}: is a folder, not an image")
    kind = _special_file_kind(file)
    if kind is not None:  # reading a FIFO or a device would block or never end
        raise ImageError(f"{path}: is {kind}, not a regular file; give an image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(file) as img:
                _check_pixels(path, img.size, max_pixels, limit_hint)
                return _decode(img, str(path))
    except Image.DecompressionBombError as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f" ({int(found.group(1)) / 1e6:.1f} megapixels)" if found else ""
        raise ImageTooLargeError(f"{path}: too large for the image library's safety "
                                 f"limit{size}{_hint(limit_hint)}") from None
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image file FacePop can read") from None
    except OSError as exc:
        raise ImageError(f"{path}: can't read the image ({exc})") from None


def _special_file_kind(file: Path) -> str | None:
    """What ``file`` is when it is not a regular file (a FIFO, a device, a socket)."""
    mode = file.stat().st_mode
    if stat.S_ISREG(mode):
        return None
    for test, kind in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "a special file"


def _check_pixels(path: Any, size: tuple[int, int], max_pixels: int | None,
                  limit_hint: str) -> None:
    width, height = size
    if max_pixels and width * height > max_pixels:
        raise ImageTooLargeError(
            f"{path}: {width}x{height} is {width * height / 1e6:.1f} megapixels, above the "
            f"limit of {max_pixels / 1e6:g} megapixels{_hint(limit_hint)}")


def _hint(limit_hint: str) -> str:
    return f"; raise it with {limit_hint}" if limit_hint else ""


def _decode(img: Image.Image, name: str) -> LoadedImage:
    notes: list[ImageNote] = []
    frames = int(getattr(img, "n_frames", 1) or 1)
    if frames > 1:
        notes.append(ImageNote("animated", f"has {frames} frames; only the first is "
                                           f"processed and written as a still PNG"))
    deep = _is_16_bit(img)
    if deep:
        notes.append(ImageNote("16-bit", "is 16 bits per channel; processed and written "
                                         "as 8-bit"))
    img.load()
    try:
        upright = ImageOps.exif_transpose(img)
    except Exception:  # a broken EXIF block must not cost the user the image
        upright = img.copy()
        notes.append(ImageNote("exif", "has EXIF FacePop can't read; its orientation is "
                                       "not applied"))
    exif = upright.getexif()
    exif.pop(EXIF_ORIENTATION, None)
    colour, alpha = _pixels(upright, deep, name)
    return LoadedImage(rgb=flatten_over_white(colour, alpha), colour=colour, alpha=alpha,
                       exif=exif.tobytes() if len(exif) else None,
                       icc_profile=_rgb_profile(upright.info.get("icc_profile")),
                       notes=tuple(notes))


def _rgb_profile(profile: bytes | None) -> bytes | None:
    """An ICC profile worth keeping on an RGB result: one whose data colour space (bytes
    16-19 of its header) is RGB; a CMYK or grey profile would misdescribe the result."""
    if isinstance(profile, bytes) and len(profile) >= 20 and profile[16:20] == b"RGB ":
        return profile
    return None


def _is_16_bit(img: Image.Image) -> bool:
    if img.mode.startswith("I;16"):
        return True
    for tile in getattr(img, "tile", None) or []:
        args = tile[3] if len(tile) > 3 else None
        rawmode = args[0] if isinstance(args, tuple) and args else args
        if isinstance(rawmode, str) and ";16" in rawmode:
            return True
    return False


def _pixels(img: Image.Image, deep: bool, name: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(RGB uint8, alpha uint8 or None) of a decoded frame."""
    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        values = np.asarray(img)
        if deep:
            values = np.clip(values.astype(np.float32) / 65535.0, 0.0, 1.0)
        grey = to_rgb8(values, name=name)
        return grey, None
    if img.mode in _FRAME_MODES:
        transparent = "transparency" in img.info or img.mode in ("PA", "RGBa", "La")
        img = img.convert("RGBA" if transparent else "RGB")
    arr = np.asarray(img)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    alpha = None
    if arr.shape[2] in (2, 4):
        alpha = np.ascontiguousarray(arr[:, :, -1])
        arr = arr[:, :, :-1]
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    colour = to_rgb8(arr, name=name)
    return colour, alpha


def flatten_over_white(colour: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """RGB uint8 over a white background through an 8-bit alpha (exact where opaque)."""
    if alpha is None:
        return colour
    a = alpha.astype(np.uint32)[:, :, None]
    mixed = (colour.astype(np.uint32) * a + 255 * (255 - a) + 127) // 255
    return np.ascontiguousarray(mixed.astype(np.uint8))


def restore_transparency(result: np.ndarray, loaded: LoadedImage) -> np.ndarray:
    """A result of the core (RGB over white) with the source's own colours and alpha back.

    Every pixel the core left as it was keeps its exact source colour (also under full
    transparency); a changed pixel gets the colour that, over white through the source's
    alpha, shows the result. The alpha is the source's, untouched. Returns RGB, or RGBA
    when the source has alpha.
    """
    if loaded.alpha is None:
        return result
    colour = loaded.colour.copy()
    changed = np.any(result != loaded.rgb, axis=2) & (loaded.alpha > 0)
    if np.any(changed):
        a = loaded.alpha[changed].astype(np.float32)[:, None] / 255.0
        shown = result[changed].astype(np.float32)
        colour[changed] = np.clip(np.rint((shown - 255.0 * (1.0 - a)) / a), 0, 255
                                  ).astype(np.uint8)
    return np.ascontiguousarray(np.dstack([colour, loaded.alpha]))


def to_rgb8(array: np.ndarray, name: str = "image") -> np.ndarray:
    """Convert grey, grey+alpha, RGB or RGBA arrays of 8/16-bit or float values to RGB uint8.

    Transparent pixels are composited over white, as the WebUI flattens img2img inputs.
    """
    arr = np.asarray(array)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4):
        raise ImageError(f"{name}: expected an image array (H, W[, channels]), got shape "
                         f"{tuple(np.asarray(array).shape)}")
    height, width = arr.shape[:2]
    if height < MIN_SIDE or width < MIN_SIDE:
        raise ImageError(f"{name}: {width}x{height} is too small to hold a face")
    if arr.dtype == np.uint8 and arr.shape[2] == 3:
        return np.ascontiguousarray(arr)
    values = _to_unit_float(arr, name)
    channels = values.shape[2]
    if channels in (2, 4):
        alpha = values[:, :, -1:]
        values = values[:, :, :-1] * alpha + (1.0 - alpha)
    if values.shape[2] == 1:
        values = np.repeat(values, 3, axis=2)
    return np.ascontiguousarray(np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8))


def pil_to_array(img: Image.Image) -> np.ndarray:
    """Pixel data of a PIL image, keeping 16-bit depth where PIL has it."""
    if img.mode.startswith("I;16"):
        return np.asarray(img).astype(np.uint16)
    if img.mode in ("I", "F"):
        return np.asarray(img)
    if img.mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "1"):
        img = img.convert("RGBA" if "transparency" in img.info or img.mode == "PA" else "RGB")
    return np.asarray(img)


def _to_unit_float(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if arr.dtype == np.bool_:
        return arr.astype(np.float32)
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) / 65535.0
    if np.issubdtype(arr.dtype, np.integer):
        top = 65535.0 if arr.max(initial=0) > 255 else 255.0
        return np.clip(arr.astype(np.float32) / top, 0.0, 1.0)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)):
            raise ImageError(f"{name}: the image has NaN or infinite values")
        top = 255.0 if arr.max(initial=0.0) > 1.0 else 1.0
        return np.clip(arr.astype(np.float32) / top, 0.0, 1.0)
    raise ImageError(f"{name}: unsupported pixel type {arr.dtype}")


def save_png(path: str | os.PathLike[str], image: np.ndarray) -> None:
    """Write an RGB uint8 (or single-channel) array as PNG, creating parent folders."""
    write_png(path, image)


def write_png(path: str | os.PathLike[str], image: np.ndarray, *, exif: bytes | None = None,
              icc_profile: bytes | None = None) -> None:
    """Write a uint8 array (grey, RGB or RGBA) as PNG atomically: into a partial file next
    to the target, then renamed over it, so the target is never half-written. Parent
    folders are created."""
    options: dict[str, Any] = {}
    if exif:
        options["exif"] = exif
    if icc_profile:
        options["icc_profile"] = icc_profile
    picture = Image.fromarray(np.ascontiguousarray(image))
    write_atomically(Path(path), lambda stream: picture.save(stream, format="PNG", **options))


def write_atomically(target: Path, write: Any) -> None:
    """Call ``write(stream)`` on a new partial file beside ``target``, then rename it to
    ``target``. On any failure (or an interrupt) the partial file is removed and ``target``
    is left as it was."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}")
    # O_EXCL: never write into someone else's file; 0o666 minus the umask, like open().
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                 0o666)
    try:
        with os.fdopen(fd, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise


def mask_to_uint8(mask: np.ndarray) -> np.ndarray:
    """A [0, 1] float mask as 8-bit grey."""
    return np.clip(np.rint(np.asarray(mask, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)
