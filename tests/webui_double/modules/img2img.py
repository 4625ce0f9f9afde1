"""Stands in for modules/img2img.py (A1111 v1.10.1): img2img(), what the img2img tab's
Generate button calls (through call_queue.wrap_gradio_gpu_call), with the host's signature.

The job is made from the UI's values (whose defaults are not the dataclass defaults:
"original" masked content, "Whole picture", 32 px padding); p.scripts and p.script_args
are set, which runs the scripts' setup() (the built-in Seed and Sampler ones too); then
the selected script runs, or else process_images(p); p is closed afterwards. Returns
(images, generation info JSON, info HTML, comments HTML). Tabs imitated: 0 img2img,
2 inpaint ({"image", "mask"}), 4 inpaint upload; the sketch tabs and batch raise
NotImplementedError.
"""

import html

from modules import images, processing, scripts, shared
from modules.infotext_utils import create_override_settings_dict


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
    sources = {0: lambda: (init_img, None),
               2: lambda: (init_img_with_mask["image"],
                           processing.create_binary_mask(init_img_with_mask["mask"])),
               4: lambda: (init_img_inpaint, init_mask_inpaint)}
    if mode not in sources:
        raise NotImplementedError(f"img2img tab {mode} is not imitated by the test double")
    image, mask = (images.fix_image(x) for x in sources[mode]())
    if selected_scale_tab == 1:  # "Resize by"
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
        outcome = scripts.scripts_img2img.run(p, *args) or processing.process_images(p)
    finally:
        p.close()
    shared.total_tqdm.clear()  # (the progress bar stub)

    info_js = outcome.js()
    shown = [] if settings.do_not_show_images else outcome.images
    return shown, info_js, _as_html(outcome.info), _as_html(outcome.comments, "comments")
