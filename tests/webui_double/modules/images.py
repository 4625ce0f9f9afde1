"""Stands in for modules/images.py (A1111 v1.10.1): saving, grids, resizing, flattening.

save_image() has the host's signature and result (path of the image, path of its .txt or
None) and the host's naming with the default settings: a sub-folder from
opts.directories_filename_pattern ("[date]") unless save_to_dirs is off, a running number
("00012", or "<basename>-0012") above the numbers of the files already there, the file
pattern ("[seed]" in sub-folders, else "[seed]-[prompt_spaces]") and the suffix; or
forced_filename. PNG files get every pnginfo item as a text chunk when
opts.enable_pnginfo (the infotext under pnginfo_section_name; a missing one is written
"None", as in the host); the before_image_saved / image_saved callbacks run. Pattern tags
known: seed, prompt, prompt_spaces, prompt_words, date (others stay as written). Left
out: EXIF infotext in JPEG/WEBP, the downscaled JPEG copy, long-name truncation.

resize_image(): modes 0 (stretch), 1 (crop) and 2 (fill, edges stretched into the bars);
each resize goes through the upscaler named (default opts.upscaler_for_img2img) when it
enlarges: shared.sd_upscalers by exact name, the first one with a printed message when
none has it; LANCZOS without one, for "None" and for "L" images, and for the last step to
the exact size. image_grid(): the host's row count, no callback.
split_grid() / combine_grid(): SD upscale's overlapping tiles (Grid: tiles as
[y, tile height, [[x, tile width, tile image], ...]] rows) and their blend back with linear
ramps across the overlaps, as the host's.
"""

import collections
import datetime
import math
import os
import re

import numpy as np
from PIL import Image, ImageColor, ImageOps, PngImagePlugin

from modules import script_callbacks, shared

LANCZOS = Image.Resampling.LANCZOS


def image_grid(imgs, batch_size=1, rows=None):
    settings, count = shared.opts, len(imgs)
    if rows is None and settings.n_rows >= 0:
        rows = settings.n_rows or batch_size
    elif rows is None and settings.grid_prevent_empty_spots:
        rows = int(math.sqrt(count))
        while count % rows:
            rows -= 1
    elif rows is None:
        rows = round(math.sqrt(count))
    rows = min(rows, count)
    columns = math.ceil(count / rows)
    cell_w, cell_h = (max(sizes) for sizes in zip(*(img.size for img in imgs), strict=True))
    background = ImageColor.getcolor(settings.grid_background_color, "RGB")
    grid = Image.new("RGB", (columns * cell_w, rows * cell_h), background)
    for position, img in enumerate(imgs):
        row, column = divmod(position, columns)
        grid.paste(img, (column * cell_w + (cell_w - img.width) // 2,
                         row * cell_h + (cell_h - img.height) // 2))
    return grid


def resize_image(resize_mode, im, width, height, upscaler_name=None):
    upscaler_name = upscaler_name or shared.opts.upscaler_for_img2img

    def resize(image, w, h):
        if upscaler_name in (None, "None") or image.mode == "L":
            return image.resize((w, h), resample=LANCZOS)
        scale = max(w / image.width, h / image.height)
        if scale > 1.0:
            named = [x for x in shared.sd_upscalers if x.name == upscaler_name]
            upscaler = named[0] if named else shared.sd_upscalers[0]
            if not named:
                print(f"could not find upscaler named {upscaler_name or '<empty string>'}, "
                      f"using {upscaler.name} as a fallback")
            image = upscaler.scaler.upscale(image, scale, upscaler.data_path)
        return image if image.size == (w, h) else image.resize((w, h), resample=LANCZOS)

    if resize_mode == 0:
        return resize(im, width, height)
    wanted, own = width / height, im.width / im.height
    crop = resize_mode == 1
    to_width = wanted > own if crop else wanted < own  # which side fits exactly
    w = width if to_width else im.width * height // im.height
    h = im.height * width // im.width if to_width else height
    scaled = resize(im, w, h)
    canvas = Image.new("RGB", (width, height))
    left, top = width // 2 - w // 2, height // 2 - h // 2
    canvas.paste(scaled, box=(left, top))
    if not crop and wanted < own and top > 0:  # bars above and below: stretch the edge rows
        canvas.paste(scaled.resize((width, top), box=(0, 0, width, 0)), box=(0, 0))
        canvas.paste(scaled.resize((width, top), box=(0, h, width, h)), box=(0, top + h))
    elif not crop and wanted > own and left > 0:  # bars left and right
        canvas.paste(scaled.resize((left, height), box=(0, 0, 0, height)), box=(0, 0))
        canvas.paste(scaled.resize((left, height), box=(w, 0, w, height)), box=(left + w, 0))
    return canvas


def flatten(img, bgcolor):
    """An RGB image; where `img` is transparent, `bgcolor` (e.g. "#ffffff") shows."""
    if img.mode != "RGBA":
        return img.convert("RGB")
    underlay = Image.new("RGBA", img.size, bgcolor)
    underlay.paste(img, mask=img)
    return underlay.convert("RGB")


def fix_image(image):
    """Rotated by its EXIF orientation; a palette/RGB image with transparency becomes RGBA."""
    if image is None:
        return None
    try:
        upright = ImageOps.exif_transpose(image)
        transparent = isinstance(upright.info.get("transparency"), bytes)
        return upright.convert("RGBA") if upright.mode in ("RGB", "P") and transparent else upright
    except Exception:
        return image


def read(fp, **kwargs):
    return fix_image(Image.open(fp, **kwargs))


def sanitize_filename_part(text, replace_spaces=True):
    if text is None:
        return None
    if replace_spaces:
        text = text.replace(" ", "_")
    bad = "/" if shared.cmd_opts.unix_filenames_sanitization else '#<>:"/\\|?*\n\r\t'
    text = "".join("_" if ch in bad else ch for ch in text).lstrip(" ")
    return text[:shared.cmd_opts.filenames_max_length].rstrip(" .")


def _apply_pattern(pattern, seed, prompt):
    words = re.findall(r"[^\s,.;:!?()\[\]{}<>\"']+", prompt or "")
    some_words = " ".join(words[:shared.opts.directories_max_prompt_words]) or "empty"
    values = {"seed": "" if seed is None else seed,
              "prompt": sanitize_filename_part(prompt),
              "prompt_spaces": sanitize_filename_part(prompt, replace_spaces=False),
              "prompt_words": None if prompt is None else sanitize_filename_part(some_words, False),
              "date": f"{datetime.date.today():%Y-%m-%d}"}

    def replace(tag):
        value = values.get(tag.group(1).lower())
        return tag.group(0) if value is None else str(value)

    return re.sub(r"\[([^\[\]]+)\]", replace, pattern)


def get_next_sequence_number(path, basename):
    """1 + the largest number that starts a file name in `path` after "<basename>-"; 0 if none."""
    prefix = f"{basename}-" if basename else ""
    numbers = [os.path.splitext(name[len(prefix):])[0].split("-")[0]
               for name in os.listdir(path) if name.startswith(prefix)]
    return 1 + max([-1, *(int(n) for n in numbers if n.isdigit())])


def save_image(image, path, basename, seed=None, prompt=None, extension='png', info=None,
               short_filename=False, no_prompt=False, grid=False, pnginfo_section_name='parameters',
               p=None, existing_info=None, forced_filename=None, suffix="", save_to_dirs=None):
    settings = shared.opts
    if save_to_dirs is None:
        save_to_dirs = (settings.grid_save_to_dirs if grid
                        else settings.save_to_dirs and not no_prompt)
    if save_to_dirs:
        folder = _apply_pattern(settings.directories_filename_pattern or "[prompt_words]", seed,
                                prompt)
        path = os.path.join(path, folder.lstrip(" ").rstrip("\\ /"))
    os.makedirs(path, exist_ok=True)  # (sub-folder included)

    if forced_filename is not None:
        target = os.path.join(path, f"{forced_filename}.{extension}")
    else:
        pattern = settings.samples_filename_pattern or (
            "[seed]" if settings.save_to_dirs else "[seed]-[prompt_spaces]")
        naming = "" if short_filename or seed is None else _apply_pattern(pattern, seed, prompt)
        naming += suffix
        if settings.save_images_add_number or not naming:
            start = get_next_sequence_number(path, basename)
            for number in range(start, start + 500):
                counted = f"{number:05}" if basename == "" else f"{basename}-{number:04}"
                target = os.path.join(path, f"{counted}{'-' if naming else ''}{naming}.{extension}")
                if not os.path.exists(target):
                    break
        else:
            target = os.path.join(path, f"{naming}.{extension}")

    chunks = dict(existing_info or {})
    if info is not None:
        chunks[pnginfo_section_name] = info
    params = script_callbacks.ImageSaveParams(image, p, target, chunks)
    script_callbacks.before_image_saved_callback(params)  # may change image, name, info
    image, target = params.image, params.filename
    info = params.pnginfo.get(pnginfo_section_name)

    stem, suffix_with_dot = os.path.splitext(target)
    kind = Image.registered_extensions()[suffix_with_dot.lower()]
    if kind == "PNG":
        text = None
        if settings.enable_pnginfo:
            text = PngImagePlugin.PngInfo()
            for key, value in {**params.pnginfo, pnginfo_section_name: info}.items():
                text.add_text(key, str(value))
        image.save(f"{stem}.tmp", format=kind, pnginfo=text)
    else:
        flat = image.convert("RGB") if image.mode == "RGBA" else image
        flat.save(f"{stem}.tmp", format=kind, quality=settings.jpeg_quality)
    os.replace(f"{stem}.tmp", target)
    image.already_saved_as = target

    text_file = None
    if settings.save_txt and info is not None:
        text_file = f"{stem}.txt"
        with open(text_file, "w", encoding="utf8") as f:
            f.write(f"{info}\n")
    script_callbacks.image_saved_callback(params)  # (params.filename: the name before saving)
    return target, text_file


def read_info_from_image(image: Image.Image) -> tuple[str | None, dict]:
    """(the infotext, the other PNG info items). EXIF and other formats are left out."""
    items = dict(image.info or {})
    return items.pop("parameters", None), items


Grid = collections.namedtuple("Grid", ["tiles", "tile_w", "tile_h", "image_w", "image_h",
                                       "overlap"])


def _tile_starts(size, tile, overlap):
    """Where tiles of `tile` pixels start along a side of `size`: evenly spread, the last
    one flush with the end."""
    count = math.ceil((size - overlap) / (tile - overlap))
    step = (size - tile) / (count - 1) if count > 1 else 0
    starts = [int(i * step) for i in range(count)]
    return [size - tile if start + tile >= size else start for start in starts]


def split_grid(image, tile_w=512, tile_h=512, overlap=64):
    width, height = image.size
    tiles = []
    for y in _tile_starts(height, tile_h, overlap):
        row = [[x, tile_w, image.crop((x, y, x + tile_w, y + tile_h))]
               for x in _tile_starts(width, tile_w, overlap)]
        tiles.append([y, tile_h, row])
    return Grid(tiles, tile_w, tile_h, width, height, overlap)


def combine_grid(grid):
    def ramp(shape, axis):
        values = np.arange(grid.overlap, dtype=np.float32) * 255 / grid.overlap
        values = values.reshape((1, -1) if axis == 1 else (-1, 1))
        return Image.fromarray(np.broadcast_to(values, shape).astype(np.uint8), "L")

    across = ramp((grid.tile_h, grid.overlap), axis=1)
    down = ramp((grid.overlap, grid.image_w), axis=0)
    combined = Image.new("RGB", (grid.image_w, grid.image_h))
    for y, h, row in grid.tiles:
        line = Image.new("RGB", (grid.image_w, h))
        for x, w, tile in row:
            if x == 0:
                line.paste(tile, (0, 0))
                continue
            line.paste(tile.crop((0, 0, grid.overlap, h)), (x, 0), mask=across)
            line.paste(tile.crop((grid.overlap, 0, w, h)), (x + grid.overlap, 0))
        if y == 0:
            combined.paste(line, (0, 0))
            continue
        combined.paste(line.crop((0, 0, line.width, grid.overlap)), (0, y), mask=down)
        combined.paste(line.crop((0, grid.overlap, line.width, h)), (0, y + grid.overlap))
    return combined
