"""Stands in for modules/img2img.py (A1111 v1.10.1): img2img(), what the img2img tab's
Generate button calls (through call_queue.wrap_gradio_gpu_call), with the host's signature.

The job is made from the UI's values (whose defaults are not the dataclass defaults:
"original" masked content, "Whole picture", 32 px padding); p.scripts and p.script_args
are set, which runs the scripts' setup() (the built-in Seed and Sampler ones too); then
the selected script runs, or else process_images(p); p is closed afterwards. Returns
(images, generation info JSON, info HTML, comments HTML). Tabs imitated: 0 img2img,
2 inpaint ({"image", "mask"}), 4 inpaint upload, 5 batch ("from dir" and "upload"); the
sketch tabs raise NotImplementedError.

process_batch() is the Batch tab: the seed is fixed once, then ONE p is reused for every
image of the input folder (PNG, JPEG, WEBP, TIFF; walked recursively, natural order):
p.init_images = [image] * batch_size (EXIF orientation applied; unreadable files are
skipped with a printed message), p.image_mask = the mask of the same name from the mask
folder (only when that folder has masks; an image without one is skipped), width and
height from "Resize by", an output folder with its override settings; then the selected
script runs, or process_images(p). The results are gathered up to
opts.img2img_batch_show_results_limit. Reading parameters from PNG info is left out.
Forge: Processed.extra_images follow the images.
"""

import html
import os
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from modules import images, processing, scripts, shared
from modules.infotext_utils import create_override_settings_dict

BATCH_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff")


def _as_html(text, classname=None):
    lines = "<br>\n".join(map(html.escape, text.split("\n")))
    return f"<p class='{classname}'>{lines}</p>" if classname else f"<p>{lines}</p>"


def img2img(id_task: str, request, mode: int, prompt: str, negative_prompt: str, prompt_styles,
            init_img, sketch, init_img_with_mask, inpaint_color_sketch, inpaint_color_sketch_orig,
            init_img_inpaint, init_mask_inpaint, mask_blur: int, mask_alpha: float,
            inpainting_fill: int, n_iter: int, batch_size: int, cfg_scale: float,
            image_cfg_scale: float, denoising_strength: float, selected_scale_tab: int,
            height: int, width: int, scale_by: float, resize_mode: int, inpaint_full_res: bool,
            inpaint_full_res_padding: int, inpainting_mask_invert: int,
            img2img_batch_input_dir: str, img2img_batch_output_dir: str,
            img2img_batch_inpaint_mask_dir: str, override_settings_texts,
            img2img_batch_use_png_info: bool, img2img_batch_png_info_props: list,
            img2img_batch_png_info_dir: str, img2img_batch_source_type: str,
            img2img_batch_upload: list, *args):
    is_batch = mode == 5
    sources = {0: lambda: (init_img, None),
               2: lambda: (init_img_with_mask["image"],
                           processing.create_binary_mask(init_img_with_mask["mask"])),
               4: lambda: (init_img_inpaint, init_mask_inpaint),
               5: lambda: (None, None)}
    if mode not in sources:
        raise NotImplementedError(f"img2img tab {mode} is not imitated by the test double")
    image, mask = (images.fix_image(x) for x in sources[mode]())
    if selected_scale_tab == 1 and not is_batch:  # "Resize by"
        assert image, "Can't scale by because no image is selected"
        width, height = int(image.width * scale_by), int(image.height * scale_by)
    assert 0 <= denoising_strength <= 1, "can only work with strength in [0.0, 1.0]"

    settings = shared.opts
    p = processing.StableDiffusionProcessingImg2Img(
        sd_model=shared.sd_model, prompt=prompt, negative_prompt=negative_prompt,
        outpath_samples=settings.outdir_samples or settings.outdir_img2img_samples,
        outpath_grids=settings.outdir_grids or settings.outdir_img2img_grids,
        styles=prompt_styles, batch_size=batch_size, n_iter=n_iter, cfg_scale=cfg_scale,
        width=width, height=height, init_images=[image], mask=mask, mask_blur=mask_blur,
        inpainting_fill=inpainting_fill, resize_mode=resize_mode, image_cfg_scale=image_cfg_scale,
        denoising_strength=denoising_strength, inpaint_full_res=inpaint_full_res,
        inpaint_full_res_padding=inpaint_full_res_padding, inpainting_mask_invert=(
            inpainting_mask_invert),
        override_settings=create_override_settings_dict(override_settings_texts))
    p.scripts = scripts.scripts_img2img
    p.script_args = args
    p.user = getattr(request, "username", None)
    try:
        if is_batch:
            if img2img_batch_use_png_info:
                raise NotImplementedError("PNG info in the Batch tab is not imitated")
            upload = img2img_batch_source_type == "upload"
            outcome = process_batch(
                p, img2img_batch_upload if upload else img2img_batch_input_dir,
                "" if upload else img2img_batch_output_dir,
                "" if upload else img2img_batch_inpaint_mask_dir, args,
                to_scale=selected_scale_tab == 1, scale_by=scale_by)
            outcome = outcome or processing.Processed(p, [], p.seed, "")
        else:
            outcome = scripts.scripts_img2img.run(p, *args) or processing.process_images(p)
    finally:
        p.close()
    shared.total_tqdm.clear()  # (the progress bar stub)

    info_js = outcome.js()
    shown = [] if settings.do_not_show_images else outcome.images + _extra_images(outcome)
    return shown, info_js, _as_html(outcome.info), _as_html(outcome.comments, "comments")


def process_batch(p, input, output_dir, inpaint_mask_dir, args, to_scale=False, scale_by=1.0,
                  use_png_info=False, png_info_props=None, png_info_dir=None):
    output_dir = output_dir.strip()
    processing.fix_seed(p)
    if isinstance(input, str):
        files = list(shared.walk_files(input, allowed_extensions=BATCH_EXTENSIONS))
    else:
        files = [os.path.abspath(x.name) for x in input]
    masks = shared.listfiles(inpaint_mask_dir) if inpaint_mask_dir else []
    print(f"Will process {len(files)} images, creating {p.n_iter * p.batch_size} new images "
          f"for each.")
    shared.state.job_count = len(files) * p.n_iter
    results, limit_reached = None, False
    for i, file in enumerate(files):
        shared.state.job = f"{i + 1} out of {len(files)}"
        shared.state.skipped = False
        if shared.state.interrupted or shared.state.stopping_generation:
            break
        try:
            image = ImageOps.exif_transpose(images.read(file))
        except UnidentifiedImageError as exc:
            print(exc)
            continue
        if to_scale:
            p.width, p.height = int(image.width * scale_by), int(image.height * scale_by)
        p.init_images = [image] * p.batch_size
        if masks:
            found = masks if len(masks) == 1 else sorted(Path(inpaint_mask_dir).glob(
                f"{Path(file).stem}.*"))
            if not found:
                print(f"Warning: mask is not found for {file} in {inpaint_mask_dir}. "
                      f"Skipping it.")
                continue
            p.image_mask = images.read(found[0])
        if output_dir:
            p.outpath_samples = output_dir
            p.override_settings["save_to_dirs"] = False
            p.override_settings["save_images_replace_action"] = "Add number suffix"
            stem = Path(file).stem
            p.override_settings["samples_filename_pattern"] = (
                f"{stem}-[generation_number]" if p.n_iter > 1 or p.batch_size > 1 else stem)
        outcome = scripts.scripts_img2img.run(p, *args)
        if outcome is None:
            p.override_settings.pop("save_images_replace_action", None)
            outcome = processing.process_images(p)
        if limit_reached or not outcome:
            continue
        if results is None:
            results = outcome
        else:
            results.images.extend(outcome.images)
            results.infotexts.extend(outcome.infotexts)
        limit = shared.opts.img2img_batch_show_results_limit
        if 0 <= limit < len(results.images):
            limit_reached = True
            results.images, results.infotexts = results.images[:limit], results.infotexts[:limit]
    return results


def _extra_images(outcome):
    """Forge shows Processed.extra_images (ControlNet's maps) after the images; A1111 has
    none."""
    from modules.double_flavour import FORGE

    return [x if isinstance(x, Image.Image) else Image.fromarray(x)
            for x in outcome.extra_images] if FORGE else []
