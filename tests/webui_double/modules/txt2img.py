"""Stands in for modules/txt2img.py (A1111 v1.10.1): txt2img(), what the txt2img tab's
Generate button calls (through call_queue.wrap_gradio_gpu_call), with the host's
signature, and txt2img_create_processing().

The job is made from the UI's values ("Use same checkpoint/sampler/scheduler" mean None);
p.scripts and p.script_args are set, which runs the scripts' setup(); then the selected
script runs, or else process_images(p); p is closed afterwards. Returns (images,
generation info JSON, info HTML, comments HTML). Left out: txt2img_upscale (the gallery's
"Upscale" button), console prompts. Forge: Processed.extra_images follow the images.
"""

import html

from PIL import Image

from modules import processing, scripts, shared
from modules.infotext_utils import create_override_settings_dict


def _as_html(text, classname=None):
    lines = "<br>\n".join(map(html.escape, text.split("\n")))
    return f"<p class='{classname}'>{lines}</p>" if classname else f"<p>{lines}</p>"


def txt2img_create_processing(id_task: str, request, prompt: str, negative_prompt: str,
                              prompt_styles, n_iter: int, batch_size: int, cfg_scale: float,
                              height: int, width: int, enable_hr: bool,
                              denoising_strength: float, hr_scale: float, hr_upscaler: str,
                              hr_second_pass_steps: int, hr_resize_x: int, hr_resize_y: int,
                              hr_checkpoint_name: str, hr_sampler_name: str,
                              hr_scheduler: str, hr_prompt: str, hr_negative_prompt,
                              override_settings_texts, *args, force_enable_hr=False):
    settings = shared.opts

    def chosen(value, same):
        return None if value == same else value

    p = processing.StableDiffusionProcessingTxt2Img(
        sd_model=shared.sd_model,
        outpath_samples=settings.outdir_samples or settings.outdir_txt2img_samples,
        outpath_grids=settings.outdir_grids or settings.outdir_txt2img_grids,
        prompt=prompt, styles=prompt_styles, negative_prompt=negative_prompt,
        batch_size=batch_size, n_iter=n_iter, cfg_scale=cfg_scale, width=width, height=height,
        enable_hr=enable_hr or force_enable_hr, denoising_strength=denoising_strength,
        hr_scale=hr_scale, hr_upscaler=hr_upscaler, hr_second_pass_steps=hr_second_pass_steps,
        hr_resize_x=hr_resize_x, hr_resize_y=hr_resize_y,
        hr_checkpoint_name=chosen(hr_checkpoint_name, "Use same checkpoint"),
        hr_sampler_name=chosen(hr_sampler_name, "Use same sampler"),
        hr_scheduler=chosen(hr_scheduler, "Use same scheduler"),
        hr_prompt=hr_prompt, hr_negative_prompt=hr_negative_prompt,
        override_settings=create_override_settings_dict(override_settings_texts))
    p.scripts = scripts.scripts_txt2img
    p.script_args = args
    p.user = getattr(request, "username", None)
    return p


def txt2img(id_task: str, request, *args):
    p = txt2img_create_processing(id_task, request, *args)
    try:
        outcome = scripts.scripts_txt2img.run(p, *p.script_args)
        if outcome is None:
            outcome = processing.process_images(p)
    finally:
        p.close()
    shared.total_tqdm.clear()  # (the progress bar stub)

    info_js = outcome.js()
    shown = [] if shared.opts.do_not_show_images else outcome.images + _extra_images(outcome)
    return shown, info_js, _as_html(outcome.info), _as_html(outcome.comments, "comments")


def _extra_images(outcome):
    """Forge shows Processed.extra_images (ControlNet's maps) after the images; A1111 has
    none."""
    from modules.double_flavour import FORGE

    return [x if isinstance(x, Image.Image) else Image.fromarray(x)
            for x in outcome.extra_images] if FORGE else []
