"""MODNet's pre- and post-processing with numpy and OpenCV: checking the image, choosing the
network's input size, scaling RGB to [-1, 1], and resizing the matte back."""

from __future__ import annotations

import cv2
import numpy as np

from modnet.errors import ModnetInputError

#: MODNet was trained with the short side of the image near this many pixels.
REFERENCE_SHORT_SIDE = 512
#: The network's input height and width must be multiples of this (its total stride).
SIZE_MULTIPLE = 32
#: The network input's long side is capped at this, whatever the aspect ratio.
MAX_NETWORK_SIDE = 2048
#: Accepted image sides, in pixels.
MIN_IMAGE_SIDE = 8
MAX_IMAGE_SIDE = 16384


def check_rgb_image(image: object) -> np.ndarray:
    """Return ``image`` if it is an H x W x 3 uint8 array with accepted sides.

    Raises :class:`ModnetInputError` saying what is wrong otherwise.
    """
    if not isinstance(image, np.ndarray):
        raise ModnetInputError(
            f"expected an RGB image as a numpy array (H, W, 3) of uint8, got {type(image).__name__}"
            " (convert it with numpy.asarray)"
        )
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        raise ModnetInputError(
            f"expected an RGB image (H, W, 3), got a single-channel image of shape {image.shape}"
            " (convert it with cv2.cvtColor(image, cv2.COLOR_GRAY2RGB))"
        )
    if image.ndim == 3 and image.shape[2] == 4:
        raise ModnetInputError(
            f"expected an RGB image (H, W, 3), got 4 channels, shape {image.shape}"
            " (drop the alpha channel: image[..., :3])"
        )
    if image.ndim != 3 or image.shape[2] != 3:
        raise ModnetInputError(f"expected an RGB image of shape (H, W, 3), got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ModnetInputError(f"expected an RGB image of dtype uint8 (0..255), got {image.dtype}")
    height, width = image.shape[:2]
    if min(height, width) < MIN_IMAGE_SIDE or max(height, width) > MAX_IMAGE_SIDE:
        raise ModnetInputError(
            f"image of {width} x {height} pixels: each side must be between {MIN_IMAGE_SIDE} and "
            f"{MAX_IMAGE_SIDE} pixels"
        )
    return image


def network_input_size(
    height: int,
    width: int,
    *,
    short_side: int = REFERENCE_SHORT_SIDE,
    multiple: int = SIZE_MULTIPLE,
    max_side: int = MAX_NETWORK_SIDE,
) -> tuple[int, int]:
    """(height, width) to run the network at: the image scaled so that its short side is near
    ``short_side`` (its long side at most ``max_side``), each side rounded to the nearest
    multiple of ``multiple`` (at least one multiple)."""
    scale = short_side / min(height, width)
    scale = min(scale, max_side / max(height, width))

    def rounded(side: int) -> int:
        return max(multiple, round(side * scale / multiple) * multiple)

    return rounded(height), rounded(width)


def to_network_input(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an RGB uint8 image to ``size`` (height, width) and return it as a float32
    (3, height, width) array scaled to [-1, 1]."""
    resized = resize_image(rgb, size)
    scaled = resized.astype(np.float32) * np.float32(1.0 / 127.5) - np.float32(1.0)
    return np.ascontiguousarray(scaled.transpose(2, 0, 1))


def matte_to_image_size(matte: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a float matte (h, w) to ``size`` (height, width), clipped to [0, 1], float32."""
    resized = resize_image(matte.astype(np.float32, copy=False), size)
    return np.clip(resized, 0.0, 1.0, out=resized)


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to ``size`` (height, width): area averaging when shrinking, bilinear otherwise."""
    height, width = size
    if image.shape[:2] == (height, width):
        return image
    shrinking = height <= image.shape[0] and width <= image.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(image), (width, height), interpolation=interpolation)
