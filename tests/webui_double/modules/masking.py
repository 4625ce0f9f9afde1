"""Stands in for modules/masking.py (A1111 v1.10.1): the crop region of "Only masked"
inpainting and the "fill" masked content, with the host's results. get_crop_region (the
old variant) is left out."""

from PIL import Image, ImageFilter


def get_crop_region_v2(mask, pad=0):
    """The box (x1, y1, x2, y2) around the mask's non-zero pixels, grown by `pad` and kept
    inside the image; None for an empty mask."""
    if not isinstance(mask, Image.Image):
        mask = Image.fromarray(mask)
    box = mask.getbbox()
    if not box or not pad:
        return box
    width, height = mask.size
    return max(box[0] - pad, 0), max(box[1] - pad, 0), min(box[2] + pad, width), min(
        box[3] + pad, height)


def _grow(low, high, wanted, limit):
    """[low, high) widened around its centre to `wanted` pixels, then moved back into
    [0, limit) (and cut at limit)."""
    extra = int(wanted - (high - low))
    low, high = low - extra // 2, high + extra - extra // 2
    if high >= limit:
        low, high = low - (high - limit), limit
    if low < 0:
        low, high = 0, high - low
    return low, min(high, limit)


def expand_crop_region(crop_region, processing_width, processing_height, image_width, image_height):
    """The region grown along one axis to the width:height ratio of the processing size."""
    left, top, right, bottom = crop_region
    ratio = processing_width / processing_height
    if (right - left) / (bottom - top) > ratio:
        top, bottom = _grow(top, bottom, (right - left) / ratio, image_height)
    else:
        left, right = _grow(left, right, (bottom - top) * ratio, image_width)
    return left, top, right, bottom


def fill(image, mask):
    """The masked part painted with ever less blurred copies of the unmasked part."""
    visible = Image.new("RGBa", image.size)
    visible.paste(image.convert("RGBA").convert("RGBa"),
                  mask=mask.convert("L").point(lambda v: 255 - v))
    painted = Image.new("RGBA", image.size)
    for radius, times in ((256, 1), (64, 1), (16, 2), (4, 4), (2, 2), (0, 1)):
        layer = visible.filter(ImageFilter.GaussianBlur(radius)).convert("RGBA")
        for _ in range(times):
            painted.alpha_composite(layer)
    return painted.convert("RGB")
