"""Reading images and bringing any pixel array to the one form the core uses.

Inside FacePop an image is always a C-contiguous ``uint8`` RGB array of shape (H, W, 3).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from lib_facepop.errors import ImageError

MIN_SIDE = 2


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as RGB uint8, whatever its mode (grey, RGBA, 16-bit, palette)."""
    file = Path(path)
    if not file.exists():
        raise ImageError(f"{path}: no such file")
    if file.is_dir():
        raise ImageError(f"{path}: is a folder, not an image")
    try:
        with Image.open(file) as img:
            img.load()
            return to_rgb8(pil_to_array(img), name=str(path))
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image file FacePop can read") from None
    except OSError as exc:
        raise ImageError(f"{path}: can't read the image ({exc})") from None


def pil_to_array(img: Image.Image) -> np.ndarray:
    """Pixel data of a PIL image, keeping 16-bit depth where PIL has it."""
    if img.mode.startswith("I;16"):
        return np.asarray(img).astype(np.uint16)
    if img.mode in ("I", "F"):
        return np.asarray(img)
    if img.mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "1"):
        img = img.convert("RGBA" if "transparency" in img.info or img.mode == "PA" else "RGB")
    return np.asarray(img)


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
    values = _to_unit_float(arr, name)
    channels = values.shape[2]
    if channels in (2, 4):
        alpha = values[:, :, -1:]
        values = values[:, :, :-1] * alpha + (1.0 - alpha)
    if values.shape[2] == 1:
        values = np.repeat(values, 3, axis=2)
    return np.ascontiguousarray(np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8))


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
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(image)).save(file, format="PNG")


def mask_to_uint8(mask: np.ndarray) -> np.ndarray:
    """A [0, 1] float mask as 8-bit grey."""
    return np.clip(np.rint(np.asarray(mask, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)
