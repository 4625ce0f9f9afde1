"""Stands in for modules/processing.py (A1111 v1.10.1): img2img and txt2img jobs and
process_images(), with a numpy painter instead of a model.

Kept from the host: the job fields FacePop and the API use, with the host's defaults
(inpaint_full_res=True, inpainting_fill=0, padding 0: not the UI's); p.sd_model is always
shared.sd_model; `mask` moves to `image_mask`; `mask_blur` sets mask_blur_x/_y; assigning
`scripts` and a non-empty `script_args` runs setup_scrips(p, is_ui=not p.is_api) once.
process_images() runs the hooks and steps in the host's order (see process_images_inner):
override settings applied and put back, token merging applied to the model with the job's
ratio (p.get_token_merging_ratio(), as the host's for img2img) and reset to 0 in a
`finally` (so a nested process_images turns it off for the rest of the outer job, as in
the host), fixed seeds in p.all_seeds (p.seed stays as given), p.rng made before
before_process_batch, params.txt at the first batch unless --no-prompt-history,
Skip/Interrupt handling, then per image: face restoration when p.restore_faces
(face_restoration.restore_faces on the RGB array, before postprocess_image, as the host's;
a copy saved first with opts.save_images_before_face_restoration), postprocess_image,
the overlay, the image's infotext made AFTER postprocess_image (create_infotext with the
batch's lists and the image's index within the batch; p.iteration is the batch number),
the mask-overlay hook (postprocess_maskoverlay), colour correction (p.color_corrections,
opts.img2img_color_correction; a copy saved first with save_images_before_color_correction),
saving; "Return mask" / "Save mask" and their composites (opts.return_mask, save_mask,
return_mask_composite, save_mask_composite: the mask for the overlay, appended to the
outputs after its image, "-mask" / "-mask-composite" files); p.color_corrections set to
None when the batches end; infotexts ("Token merging ratio" when not 0), the grid rule.
Img2Img init(): binary mask, "Inpaint not masked", Gaussian blur with the host's kernel
sizes, "Only masked" crop region (blank mask: whole picture) or whole-picture mask with
mask_for_overlay = clip(2 * mask), overlays, flattening, resizing, "fill", and the batch
rule (1 image: repeated; up to batch_size: batch_size lowered; more: RuntimeError); with
opts.img2img_color_correction and no p.color_corrections yet, one colour-correction target
per prepared init image (repeated like the image). A second init() without a mask leaves
the earlier mask state in place, and keeps the colour corrections it finds, as in the host.
Txt2Img: the UI's fields; with enable_hr, init() writes "Denoising strength", "Hires
upscale" (or "Hires resize"), "Hires steps", "Hires upscaler", refuses an upscaler name
that is neither in shared.sd_upscalers nor a "Latent" mode, and doubles state.job_count
(once per job: state.processing_has_refined_job_count); setup_prompts() fills the hires
prompts (blank: the prompt). No postprocess_image before the hires pass: FacePop's hook
sees the final, enlarged image.

The painter (not the host's): "latents" are the images at full size, (batch, height,
width, 3) floats in 0..255. img2img: item i becomes init * (1 - d) + expected_colour(seed,
prompt) * d, d the denoising strength, prompt p.prompts[i] at sampling, seed the one p.rng
was made from. txt2img: item i is expected_colour(seed, prompt), or a picture given with
set_txt2img_picture() tinted by it; with the hires fix each item is enlarged to the target
size (the named upscaler through images.resize_image; "Latent" modes and None: bilinear),
state.nextjob() is called, and the enlarged items are painted over as img2img with
denoising_strength and the hires prompts. A mask blends as in the host,
`painted * nmask + init * mask`, but at full size; with mask_round a pixel whose blurred
mask is <= 0.5 keeps its init value exactly. Decoding rounds half up. A batch sampled with
Skip or Interrupt set comes out unchanged (txt2img: the picture, or mid grey). "latent
noise" is seeded uniform noise, "latent nothing" grey 128; resize_mode 3 resizes after
batching. Each sampled batch passes once through the UNet's forward()
(shared.sd_model.model.diffusion_model) before the mask blend, so a script that hooks the
UNet (as ControlNet does) changes what comes out. Left out: the luminosity blend of
colour correction (the histogram match is kept), refiner, the firstpass_image of
"Upscale" in the txt2img gallery, before_hr, extra networks (their <tags> are only
removed), VAE, conds.

Out of memory, as in the host: a sampler that runs out of GPU memory raises torch's
OutOfMemoryError (a RuntimeError; other backends raise a plain RuntimeError whose message
says "out of memory" or "not enough memory"). Nothing in process_images_inner catches it:
no state.nextjob() for that batch, no p.close() (the caller's `closing(p)` does that), and
the exception leaves process_images after its finally (override settings put back). What
the failed batch had allocated stays allocated for as long as its traceback is alive
(tensors in the frames); devices.torch_gc() frees only what nothing holds. The double
calls devices.torch_gc() where process_images_inner does (at its start, after each batch).
See limit_sampler_memory(). Forge: a batch that needs more than is free is first tried
again with its attention sliced (Forge's attention catches the OOM, empties the cache and
slices into more steps, printing "out of memory error, ..."): here that needs half as much;
only what does not fit even then raises torch.cuda.OutOfMemoryError (Forge's
memory_management.OOM_EXCEPTION), which leaves process_images as in A1111.

Forge flavour (modules/double_flavour.py), where Forge's processing.py differs: jobs have
distilled_cfg_scale (3.5; txt2img and img2img also hr_distilled_cfg) and
extra_result_images (what scripts add: the ControlNet maps; Processed.extra_images, which
the UI and the API put after the images); "Distilled CFG Scale" goes into the infotext when
the model uses it (sd_model.use_distilled_cfg_scale, Flux); process_images applies no
token merging: every batch starts from a shallow copy of the model objects as loaded
(sd_model.forge_objects = forge_objects_original.shallow_copy(), before
before_process_batch), then of forge_objects_after_applying_lora (after the batch's extra
networks), and sample() makes yet another copy, patches token merging onto it
(sd_models.apply_token_merging) and calls every always-on script's
process_before_every_sampling (also before the hires pass), so a script's UNet patch lives
for one sampling; the painter runs the batch through that copy's UNet patcher
(backend/patcher/unet.py) instead of a forward() hook; postprocess_batch_list follows
postprocess_batch; PostprocessImageArgs carry the image's index in the job; the process log
records the distilled CFG scale of each job, and per batch the token merging ratio and the
UNet patches its sampling ran with (unet_patches).

Test scaffolding: expected_colour(), process_images_log, reset_process_images_log(),
limit_sampler_memory(), set_txt2img_picture().
"""

import dataclasses
import hashlib
import json
import os
import random
import re
import weakref
from typing import Any

import cv2
import numpy as np
from PIL import Image

from modules import (
    devices,
    errors,
    face_restoration,
    images,
    launch_utils,
    masking,
    scripts,
    sd_models,
    sd_samplers,
    shared,
)
from modules.double_flavour import FORGE

opts, state = shared.opts, shared.state


# ------------------------------------------------------------------ test scaffolding

process_images_log: list[dict] = []
"""One entry per process_images() call, in the order the calls begin (a call made inside
a hook of another comes after it). Keys: nested, depth; width, height, batch_size, n_iter,
n_init_images (after p.init(), which may lower batch_size); prompts, negative_prompts,
seeds, subseeds (the all_* lists); mode ("img2img" or "txt2img"), hires_size (the hires
fix's target size, None without it); steps, cfg_scale, denoising_strength, sampler_name,
scheduler, image_mask_given, inpaint_full_res, alwayson_scripts (titles), is_api; batches:
per batch that was sampled, its batch_number, prompts, seeds, skipped (Skip or Interrupt
was set, so it came out unchanged), token_merging_ratio (applied to the model while it
was sampled), and image_mask_given and inpaint_full_res as they were then (a script may
change them and run p.init() again in before_process_batch), color_correction_targets
(None without colour correction, else per target the index of the p.init_images item it
was made from as the batch sampled, -1 for another picture); a batch whose sampling
raised is listed too; error: None, or "<type>: <message>" of the exception that left
process_images()."""

_running: list[dict] = []

_sampler_memory: dict = {"pixels": None, "error": None}
_allocations: "weakref.WeakSet[_Allocation]" = weakref.WeakSet()


def reset_process_images_log():
    process_images_log.clear()


def limit_sampler_memory(pixels, error=None):
    """Gives the sampler `pixels` of GPU memory (None: unlimited, the default).

    Sampling a batch needs batch_size * width * height of it (the UNet's share, which grows
    with the batch; the VAE works one image at a time in the host and is left out). What
    the batch needs beyond what is free raises `error(message)`: by default torch's
    OutOfMemoryError when torch is installed, else a RuntimeError subclass of that name,
    with a "CUDA out of memory. Tried to allocate ..." message. The failed batch keeps
    what was free allocated until its traceback is gone, as tensors do."""
    _sampler_memory.update(pixels=pixels, error=error)


class _Allocation:
    """Memory a sampling batch holds (in pixels) for as long as something refers to it."""

    def __init__(self, pixels):
        self.pixels = pixels
        _allocations.add(self)


def _out_of_memory_error(message):
    try:
        import torch

        return torch.OutOfMemoryError(message)
    except (ImportError, AttributeError):
        return type("OutOfMemoryError", (RuntimeError,), {})(message)


def _allocate_for_sampling(p, items):
    """The memory a batch of `items` needs while it is sampled, or the host's OOM."""
    budget = _sampler_memory["pixels"]
    needed = items * p.width * p.height
    if budget is None:
        return None
    free = budget - sum(a.pixels for a in list(_allocations))
    if needed <= free:
        return _Allocation(needed)
    if FORGE and _sampler_memory["error"] is None and needed // 2 <= free:
        # Forge's attention (backend/attention.py) catches the OOM, empties the cache and
        # slices the attention into more steps: here it then needs half as much.
        print("out of memory error, emptying cache and trying again")
        print("out of memory error, increasing steps and trying again 2")
        return _Allocation(needed // 2)
    held = _Allocation(max(free, 0))  # noqa: F841 (kept alive by this frame in the traceback)
    make = _sampler_memory["error"] or _out_of_memory_error
    raise make(f"CUDA out of memory. Tried to allocate {needed - max(free, 0)} pixels. "
               f"GPU 0 has a total capacity of {budget} pixels of which {max(free, 0)} "
               "pixels is free.")


_txt2img_model: dict = {"picture": None, "strength": 1.0}


def set_txt2img_picture(picture, strength=0.25):
    """What the double's txt2img "model" draws (None: nothing, the default): each first-pass
    item becomes `picture` (stretched to the job's size) * (1 - strength) +
    expected_colour(seed, prompt) * strength, so a picture with faces comes out of txt2img
    with its faces, tinted per seed and prompt. Without a picture an item is that colour."""
    _txt2img_model.update(picture=picture, strength=1.0 if picture is None else strength)


def expected_colour(seed, prompt) -> tuple[int, int, int]:
    """What the painter paints for a seed and a prompt: sha256(f"{int(seed)}|{prompt}")[:3]."""
    digest = hashlib.sha256(f"{int(seed)}|{prompt}".encode()).digest()
    return digest[0], digest[1], digest[2]


def _describe(p, entry):
    titles = []
    for s in getattr(p.scripts, "alwayson_scripts", None) or []:
        try:
            titles.append(s.title())
        except Exception:
            titles.append(s.filename)
    entry.update({name: getattr(p, name) for name in (
        "width", "height", "batch_size", "n_iter", "steps", "cfg_scale", "denoising_strength",
        "sampler_name", "scheduler", "is_api")})
    hires = getattr(p, "enable_hr", False)
    entry.update(mode="img2img" if hasattr(p, "init_images") else "txt2img",
                 hires_size=(p.hr_upscale_to_x, p.hr_upscale_to_y) if hires else None)
    entry.update(distilled_cfg_scale=getattr(p, "distilled_cfg_scale", None))
    entry.update(n_init_images=len(getattr(p, "init_images", None) or []),
                 prompts=list(p.all_prompts), negative_prompts=list(p.all_negative_prompts),
                 seeds=list(p.all_seeds), subseeds=list(p.all_subseeds),
                 image_mask_given=getattr(p, "image_mask", None) is not None,
                 inpaint_full_res=getattr(p, "inpaint_full_res", None), alwayson_scripts=titles)


# ------------------------------------------------------------------ helpers


def create_binary_mask(image, round=True):
    """An "L" mask: the alpha channel of an RGBA image that has transparency (cut at 128
    when `round`), else the image in grey levels."""
    if image.mode != "RGBA" or image.getextrema()[-1] == (255, 255):
        return image.convert("L")
    alpha = image.getchannel("A")
    return alpha.point(lambda v: 255 * (v > 128)) if round else alpha


def apply_overlay(image, paste_loc, overlay):
    """(image with the overlay composited on top, image before that); an "Only masked"
    result is first scaled back into its place in the full picture."""
    if overlay is None:
        return image, image.copy()  # (nothing to put back)
    if paste_loc:  # an "Only masked" result goes back into its place
        x, y, w, h = paste_loc
        canvas = Image.new("RGBA", overlay.size)
        canvas.paste(images.resize_image(1, image, w, h), (x, y))
        image = canvas
    underneath = image.copy()
    composite = image.convert("RGBA")
    composite.alpha_composite(overlay)
    return composite.convert("RGB"), underneath


def get_fixed_seed(seed):
    """A random seed for -1, None, "" or text that is not a number; else the seed."""
    if isinstance(seed, str):
        seed = int(seed) if re.fullmatch(r"\s*[-+]?\d+\s*", seed) else -1
    return random.randrange(4294967294) if seed in (-1, None) else seed


def fix_seed(p):
    p.seed, p.subseed = get_fixed_seed(p.seed), get_fixed_seed(p.subseed)


def program_version():
    tag = launch_utils.git_tag()
    return None if tag == "<none>" else tag


def setup_color_correction(image):
    """The colour-correction target of an image: its pixels in LAB (as the host's)."""
    return cv2.cvtColor(np.asarray(image.copy()), cv2.COLOR_RGB2LAB)


def apply_color_correction(correction, original_image):
    """The host's "Apply color correction to img2img results": the image's LAB histograms
    matched to the target's, then its luminosity blended back (Image.blend in the host's
    "luminosity" mode is left out: the double keeps the matched picture)."""
    from skimage import exposure

    matched = exposure.match_histograms(
        cv2.cvtColor(np.asarray(original_image), cv2.COLOR_RGB2LAB), correction, channel_axis=2)
    return Image.fromarray(cv2.cvtColor(matched, cv2.COLOR_LAB2RGB).astype("uint8")).convert(
        "RGB")


class ImageRNG:
    """Stands in for modules.rng.ImageRNG: a batch's noise is fixed when this is made, from
    the seeds given then; next() returns that noise (here: those seeds)."""

    def __init__(self, shape, seeds, subseeds=None, subseed_strength=0.0, seed_resize_from_h=0,
                 seed_resize_from_w=0):
        self.shape, self.seeds, self.subseeds = tuple(shape), list(seeds), list(subseeds or [])

    def next(self):
        return list(self.seeds)


# ------------------------------------------------------------------ jobs


class _ScriptsPart:
    """p.scripts / p.script_args: kept in <name>_value; once both are set (args non-empty),
    the scripts' setup() runs, once per job."""

    def __set_name__(self, owner, name):
        self.slot = f"{name}_value"

    def __get__(self, p, owner=None):
        return self if p is None else getattr(p, self.slot)

    def __set__(self, p, value):
        setattr(p, self.slot, value)
        if p.scripts_value and p.script_args_value and not p.scripts_setup_complete:
            p.setup_scripts()


@dataclasses.dataclass(repr=False)
class StableDiffusionProcessing:
    sd_model: object = None
    outpath_samples: str = None
    outpath_grids: str = None
    prompt: str = ""
    negative_prompt: str = ""
    styles: list[str] = None
    seed: int = -1
    subseed: int = -1
    subseed_strength: float = 0
    seed_resize_from_h: int = -1
    seed_resize_from_w: int = -1
    seed_enable_extras: bool = True
    sampler_name: str = None
    scheduler: str = None
    batch_size: int = 1
    n_iter: int = 1
    steps: int = 50
    cfg_scale: float = 7.0
    width: int = 512
    height: int = 512
    restore_faces: bool = None
    tiling: bool = None
    do_not_save_samples: bool = False
    do_not_save_grid: bool = False
    extra_generation_params: dict[str, Any] = None
    overlay_images: list = None
    denoising_strength: float = None
    override_settings: dict[str, Any] = None
    override_settings_restore_afterwards: bool = True
    sampler_index: int = None
    token_merging_ratio: float = 0
    token_merging_ratio_hr: float = 0
    comments: dict = None
    if FORGE:  # Forge: Flux's guidance ("Distilled CFG Scale"), used by distilled models only
        distilled_cfg_scale: float = 3.5

    # Set while the job runs. (The host declares these as init=False fields.)
    scripts_value = script_args_value = sampler = rng = paste_to = user = None
    all_prompts = all_negative_prompts = all_seeds = all_subseeds = None
    prompts = negative_prompts = seeds = subseeds = main_prompt = main_negative_prompt = None
    sd_model_name = sd_model_hash = sd_vae_name = sd_vae_hash = None  # (no VAE file is loaded)
    scripts_setup_complete = is_api = is_using_inpainting_conditioning = False
    iteration = 0
    color_corrections = None  # (an init=False field in the host)

    def __post_init__(self):
        if FORGE:
            self.extra_result_images = []  # Forge: added to the outputs after the images
        self.comments, self.styles = {}, self.styles or []
        for name in ("extra_generation_params", "override_settings"):
            setattr(self, name, getattr(self, name) or {})
        self.script_args = self.script_args or {}  # through the property, as in the host
        if self.seed_enable_extras:
            return
        self.subseed, self.subseed_strength = -1, 0
        self.seed_resize_from_w = self.seed_resize_from_h = 0

    @property
    def sd_model(self):  # noqa: F811 (replaces the field, as in the host)
        return shared.sd_model

    @sd_model.setter
    def sd_model(self, value):
        """Ignored: jobs run on the loaded model."""

    scripts = _ScriptsPart()
    script_args = _ScriptsPart()

    def setup_scripts(self):
        self.scripts_setup_complete = True  # once per job
        self.scripts_value.setup_scrips(self, is_ui=not self.is_api)

    def comment(self, text):
        self.comments[text] = 1

    def init(self, all_prompts, all_seeds, all_subseeds):
        """Prepares the job once its prompts and seeds are known."""

    def close(self):
        self.sampler = None

    def get_token_merging_ratio(self, for_hr=False):
        if for_hr:
            return (self.token_merging_ratio_hr or opts.token_merging_ratio_hr
                    or self.token_merging_ratio or opts.token_merging_ratio)
        return self.token_merging_ratio or opts.token_merging_ratio

    def setup_prompts(self):
        prompts, negatives = self.prompt, self.negative_prompt
        if not isinstance(prompts, list):
            count = len(negatives) if isinstance(negatives, list) else self.batch_size * self.n_iter
            prompts = [prompts] * count
        if not isinstance(negatives, list):
            negatives = [negatives] * len(prompts)
        if len(prompts) != len(negatives):
            raise RuntimeError(f"Received a different number of prompts ({len(prompts)}) and "
                               f"negative prompts ({len(negatives)})")
        styled = shared.prompt_styles
        self.all_prompts = [styled.apply_styles_to_prompt(t, self.styles) for t in prompts]
        self.all_negative_prompts = [styled.apply_negative_styles_to_prompt(t, self.styles)
                                     for t in negatives]
        firsts = self.all_prompts[0], self.all_negative_prompts[0]
        self.main_prompt, self.main_negative_prompt = firsts

    def save_samples(self) -> bool:
        """Whether this job's images go to disk."""
        if not opts.samples_save or self.do_not_save_samples:
            return False
        return opts.save_incomplete_images or not (state.interrupted or state.skipped)


def _first(value):
    return value[0] if isinstance(value, list) else value


class Processed:
    def __init__(self, p: StableDiffusionProcessing, images_list, seed=-1, info="", subseed=None,
                 all_prompts=None, all_negative_prompts=None, all_seeds=None, all_subseeds=None,
                 index_of_first_image=0, infotexts=None, comments="", extra_images_list=()):
        self.images, self.info, self.index_of_first_image = images_list, info, index_of_first_image
        self.extra_images = extra_images_list  # (Forge's; A1111 has none)
        for name in ("subseed_strength", "width", "height", "sampler_name", "cfg_scale", "steps",
                     "batch_size", "restore_faces", "sd_model_name", "sd_model_hash", "styles",
                     "seed_resize_from_w", "seed_resize_from_h", "extra_generation_params",
                     "sd_vae_name", "sd_vae_hash", "is_using_inpainting_conditioning"):
            setattr(self, name, getattr(p, name))
        self.prompt, self.negative_prompt = _first(p.prompt), _first(p.negative_prompt)
        self.seed = -1 if seed is None else int(_first(seed))
        self.subseed = -1 if subseed is None else int(_first(subseed))
        self.denoising_strength = getattr(p, "denoising_strength", None)
        self.comments = "".join(f"{text}\n" for text in p.comments)
        self.face_restoration_model = (p.restore_faces and opts.face_restoration_model) or None
        self.job_timestamp, self.clip_skip = state.job_timestamp, opts.CLIP_stop_at_last_layers
        for name, given, alone in (("all_prompts", all_prompts, self.prompt),
                                   ("all_negative_prompts", all_negative_prompts,
                                    self.negative_prompt),
                                   ("all_seeds", all_seeds, self.seed),
                                   ("all_subseeds", all_subseeds, self.subseed)):
            setattr(self, name, given or getattr(p, name) or [alone])
        self.infotexts = infotexts or [info for _ in images_list]
        self.version = program_version()  # the WebUI's git tag

    def js(self):
        names = ["prompt", "all_prompts", "negative_prompt", "all_negative_prompts", "seed",
                 "all_seeds", "subseed", "all_subseeds", "subseed_strength", "width", "height",
                 "sampler_name", "cfg_scale", "steps", "batch_size", "restore_faces",
                 "face_restoration_model", "sd_model_name", "sd_model_hash", "sd_vae_name",
                 "sd_vae_hash", "seed_resize_from_w", "seed_resize_from_h", "denoising_strength",
                 "extra_generation_params", "index_of_first_image", "infotexts", "styles",
                 "job_timestamp", "clip_skip", "is_using_inpainting_conditioning", "version"]
        data = {name: getattr(self, name) for name in names}
        data["prompt"], data["negative_prompt"] = self.all_prompts[0], self.all_negative_prompts[0]
        return json.dumps(data, default=lambda o: None)

    def infotext(self, p: StableDiffusionProcessing, index):
        batch_position, batch_number = index % self.batch_size, index // self.batch_size
        return create_infotext(p, self.all_prompts, self.all_seeds, self.all_subseeds, comments=[],
                               position_in_batch=batch_position, iteration=batch_number)


def create_infotext(p, all_prompts, all_seeds, all_subseeds, comments=None, iteration=0,
                    position_in_batch=0, use_main_prompt=False, index=None,
                    all_negative_prompts=None):
    """Prompt, "Negative prompt: ..." and one line of "Key: value" pairs (None left out; a
    value equal to its key written alone; values with , : or a newline JSON-quoted).
    extra_generation_params come after the host's keys (a key the host has keeps its
    place); a list value gives this image's item, a callable is called with keywords
    (p, index, ...)."""
    if index is None or use_main_prompt:
        index = 0 if use_main_prompt else iteration * p.batch_size + position_in_batch
    negatives = p.all_negative_prompts if all_negative_prompts is None else all_negative_prompts
    prompt = p.main_prompt if use_main_prompt else all_prompts[index]
    negative = p.main_negative_prompt if use_main_prompt else negatives[index]
    varied = p.subseed_strength != 0
    clip_skip = getattr(p, "clip_skip", opts.CLIP_stop_at_last_layers)
    resized = p.seed_resize_from_w > 0 and p.seed_resize_from_h > 0
    pairs = [
        ("Steps", p.steps), ("Sampler", p.sampler_name), ("Schedule type", p.scheduler),
        ("CFG scale", p.cfg_scale),
        ("Distilled CFG Scale", p.distilled_cfg_scale
         if FORGE and getattr(p.sd_model, "use_distilled_cfg_scale", False) else None),
        ("Image CFG scale", getattr(p, "image_cfg_scale", None)),
        ("Seed", p.all_seeds[0] if use_main_prompt else all_seeds[index]),
        ("Face restoration", opts.face_restoration_model if p.restore_faces else None),
        ("Size", f"{p.width}x{p.height}"),
        ("Model hash", p.sd_model_hash if opts.add_model_hash_to_info else None),
        ("Model", p.sd_model_name if opts.add_model_name_to_info else None),
        ("Variation seed", None if not varied
         else p.all_subseeds[0] if use_main_prompt else all_subseeds[index]),
        ("Variation seed strength", p.subseed_strength if varied else None),
        ("Seed resize from", f"{p.seed_resize_from_w}x{p.seed_resize_from_h}" if resized else None),
        ("Denoising strength", p.extra_generation_params.get("Denoising strength")),
        ("Clip skip", clip_skip if clip_skip > 1 else None),
        ("Token merging ratio", p.get_token_merging_ratio() or None),
        ("Init image hash", getattr(p, "init_img_hash", None)),
        ("RNG", None if opts.randn_source == "GPU" else opts.randn_source),
        ("Tiling", "True" if p.tiling else None),
    ]
    params = dict(pairs)
    params.update(p.extra_generation_params)
    params["Version"] = program_version() if opts.add_version_to_infotext else None
    params["User"] = p.user if opts.add_user_name_to_info else None

    context = {"p": p, "index": index, "all_prompts": all_prompts, "all_seeds": all_seeds,
               "all_subseeds": all_subseeds, "all_negative_prompts": negatives,
               "comments": comments, "iteration": iteration, "use_main_prompt": use_main_prompt,
               "position_in_batch": position_in_batch, "prompt_text": prompt,
               "negative_prompt": negative, "generation_params": params}
    for key in list(params):
        try:
            if isinstance(params[key], list):
                params[key] = params[key][index]
            elif callable(params[key]):
                params[key] = params[key](**context)
        except Exception:
            problem = f'Error creating infotext for key "{key}"'
            errors.report(problem, exc_info=True)
            params[key] = None

    from modules.infotext_utils import quote

    written = [key if key == value else f"{key}: {quote(value)}"
               for key, value in params.items() if value is not None]
    head = f"{prompt}\nNegative prompt: {negative}" if negative else prompt
    return f"{head}\n{', '.join(written)}".strip()


def process_images(p: StableDiffusionProcessing) -> Processed:
    entry = {"nested": bool(_running), "depth": len(_running) + 1, "batches": [], "error": None}
    process_images_log.append(entry)
    _running.append(entry)
    try:
        return _process_with_overrides(p)
    except Exception as e:
        entry["error"] = f"{type(e).__name__}: {e}"
        raise
    finally:
        _running.remove(entry)


def _process_with_overrides(p):
    runner = p.scripts
    if runner is not None:
        runner.before_process(p)
    overrides = p.override_settings
    previous = {key: opts.data[key] for key in overrides if key in opts.data}
    try:
        if overrides.get("sd_model_checkpoint") not in shared.checkpoint_aliases:
            overrides.pop("sd_model_checkpoint", None)  # unknown: stay on the loaded model
        for key, value in overrides.items():
            opts.set(key, value, is_api=True, run_callbacks=False)
        if not FORGE:  # (Forge patches each sampling's copy of the model in sample())
            sd_models.apply_token_merging(p.sd_model, p.get_token_merging_ratio())
        sd_samplers.fix_p_invalid_sampler_and_scheduler(p)  # unknown names: the defaults
        return process_images_inner(p)
    finally:
        if not FORGE:
            sd_models.apply_token_merging(p.sd_model, 0)
        for key, value in previous.items() if p.override_settings_restore_afterwards else ():
            setattr(opts, key, value)


def _colour_targets(p):
    """For the log: per colour-correction target of the batch, the index of the init image
    (as init() prepares it at the job's size) it was made from, -1 for another picture;
    None without colour correction."""
    if p.color_corrections is None:
        return None
    made = [setup_color_correction(images.resize_image(
        p.resize_mode, images.flatten(x, opts.img2img_background_color), p.width, p.height))
        for x in getattr(p, "init_images", None) or []]
    return [next((k for k, target in enumerate(made) if np.array_equal(target, given)), -1)
            for given in p.color_corrections]


def _batch_kwargs(p, n):
    return {"batch_number": n, "prompts": p.prompts, "seeds": p.seeds, "subseeds": p.subseeds}


def process_images_inner(p: StableDiffusionProcessing) -> Processed:
    assert (len(p.prompt) > 0) if isinstance(p.prompt, list) else (p.prompt is not None)
    entry = _running[-1] if _running else {"nested": False, "depth": 1, "batches": [],
                                           "error": None}
    if not _running:
        process_images_log.append(entry)
    runner = p.scripts
    devices.torch_gc()

    first_seed, first_subseed = get_fixed_seed(p.seed), get_fixed_seed(p.subseed)
    p.restore_faces = opts.face_restoration if p.restore_faces is None else p.restore_faces
    p.tiling = opts.tiling if p.tiling is None else p.tiling
    model = shared.sd_model
    p.sd_model_name, p.sd_model_hash = model.sd_checkpoint_info.name_for_extra, model.sd_model_hash
    p.setup_prompts()
    count = len(p.all_prompts)
    step = 0 if p.subseed_strength else 1  # variation seeds keep the main seed
    p.all_seeds = first_seed if isinstance(first_seed, list) else [
        int(first_seed) + i * step for i in range(count)]
    p.all_subseeds = first_subseed if isinstance(first_subseed, list) else [
        int(first_subseed) + i for i in range(count)]
    if runner is not None:
        runner.process(p)
    p.init(p.all_prompts, p.all_seeds, p.all_subseeds)  # after the process hooks
    _describe(p, entry)
    if state.job_count == -1:  # begin() left it unknown: one job per batch
        state.job_count = int(p.n_iter)

    texts, outputs = [], []

    def text_of(index=0, use_main_prompt=False):
        return create_infotext(p, p.prompts, p.seeds, p.subseeds, index=index,
                               use_main_prompt=use_main_prompt,
                               all_negative_prompts=p.negative_prompts)

    for n in range(p.n_iter):  # one batch after the other
        p.iteration = n
        state.skipped = False  # a Skip ends one batch only
        if any((state.interrupted, state.stopping_generation)):
            break
        part = slice(n * p.batch_size, (n + 1) * p.batch_size)
        p.prompts, p.negative_prompts = p.all_prompts[part], p.all_negative_prompts[part]
        p.seeds, p.subseeds = p.all_seeds[part], p.all_subseeds[part]
        if FORGE:  # each batch starts from the model as loaded
            model.forge_objects = model.forge_objects_original.shallow_copy()
        p.rng = ImageRNG((4, p.height // 8, p.width // 8), p.seeds, subseeds=p.subseeds,
                         subseed_strength=p.subseed_strength)
        if runner is not None:
            runner.before_process_batch(p, **_batch_kwargs(p, n))
        if not p.prompts:
            break
        p.prompts = [re.sub(r"<\w+:[^>]+>", "", text) for text in p.prompts]  # extra networks
        if FORGE:  # (the batch's LoRAs would be on forge_objects_after_applying_lora)
            model.forge_objects = model.forge_objects_after_applying_lora.shallow_copy()
        if runner is not None:
            runner.process_batch(p, **_batch_kwargs(p, n))
        if n == 0 and not shared.cmd_opts.no_prompt_history:
            with open(os.path.join(shared.data_path, "params.txt"), "w", encoding="utf8") as f:
                f.write(Processed(p, []).infotext(p, 0))
        if p.n_iter > 1:
            state.job = f"Batch {n + 1} out of {p.n_iter}"

        entry["batches"].append({
            "batch_number": n, "prompts": list(p.prompts), "seeds": list(p.seeds),
            "skipped": bool(state.skipped or state.interrupted),
            "token_merging_ratio": shared.sd_model.applied_token_merged_ratio,
            "image_mask_given": getattr(p, "image_mask", None) is not None,
            "inpaint_full_res": getattr(p, "inpaint_full_res", None),
            "color_correction_targets": _colour_targets(p)})
        latents = p.sample(conditioning=None, unconditional_conditioning=None, seeds=p.seeds,
                           subseeds=p.subseeds, subseed_strength=p.subseed_strength,
                           prompts=p.prompts)
        if FORGE:
            unet = shared.sd_model.forge_objects.unet
            entry["batches"][-1].update(token_merging_ratio=unet.token_merging_ratio,
                                        unet_patches=unet.patch_names)
        levels = np.clip(np.floor(np.asarray(latents, dtype=np.float64) + 0.5), 0, 255)
        decoded = np.moveaxis(levels, 3, 1).astype(np.float32) / 255.0  # (B, 3, H, W) in 0..1
        del latents
        devices.torch_gc()
        state.nextjob()
        if runner is not None:
            runner.postprocess_batch(p, decoded, batch_number=n)
            p.prompts, p.negative_prompts = p.all_prompts[part], p.all_negative_prompts[part]
            if FORGE:
                batch_list = scripts.PostprocessBatchListArgs(list(decoded))
                runner.postprocess_batch_list(p, batch_list, batch_number=n)
                decoded = batch_list.images

        to_disk = p.save_samples()
        for i, sample in enumerate(decoded):
            p.batch_index = i
            pixels = np.round(np.moveaxis(sample, 0, 2) * 255.0).clip(0, 255).astype(np.uint8)
            if p.restore_faces:
                if to_disk and opts.save_images_before_face_restoration:
                    images.save_image(Image.fromarray(pixels), p.outpath_samples, "", p.seeds[i],
                                      p.prompts[i], opts.samples_format, info=text_of(i), p=p,
                                      suffix="-before-face-restoration")
                pixels = face_restoration.restore_faces(pixels)
            image = Image.fromarray(pixels)
            if runner is not None:
                hook_args = (scripts.PostprocessImageArgs(image, i + p.iteration * p.batch_size)
                             if FORGE else scripts.PostprocessImageArgs(image))
                runner.postprocess_image(p, hook_args)
                image = hook_args.image
            mask_for_overlay = getattr(p, "mask_for_overlay", None)
            overlays = p.overlay_images if opts.overlay_inpaint else None
            overlay = overlays[i] if overlays is not None and i < len(overlays) else None
            if runner is not None:
                mask_args = scripts.PostProcessMaskOverlayArgs(i, mask_for_overlay, overlay)
                runner.postprocess_maskoverlay(p, mask_args)
                mask_for_overlay, overlay = mask_args.mask_for_overlay, mask_args.overlay_image
            corrections = p.color_corrections
            if corrections is not None and i < len(corrections):
                if to_disk and opts.save_images_before_color_correction:
                    images.save_image(apply_overlay(image, p.paste_to, overlay)[0],
                                      p.outpath_samples, "", p.seeds[i], p.prompts[i],
                                      opts.samples_format, info=text_of(i), p=p,
                                      suffix="-before-color-correction")
                image = apply_color_correction(corrections[i], image)
            image, underneath = apply_overlay(image, p.paste_to, overlay)
            text = text_of(i)
            if to_disk:
                images.save_image(image, p.outpath_samples, "", p.seeds[i], p.prompts[i],
                                  opts.samples_format, info=text, p=p)
            if opts.enable_pnginfo:
                image.info.update(parameters=text)
            texts.append(text)
            outputs.append(image)
            if mask_for_overlay is not None:
                _mask_outputs(p, i, mask_for_overlay, image, underneath, text, to_disk, outputs)

    if not texts:
        texts.append(Processed(p, []).infotext(p, 0))
    p.color_corrections = None
    first_image = 0
    wants_grid = (opts.return_grid or opts.grid_save) and not p.do_not_save_grid
    if wants_grid and (len(outputs) >= 2 or not opts.grid_only_if_multiple):
        grid = images.image_grid(outputs, p.batch_size)
        grid_text = text_of(use_main_prompt=True)
        if opts.return_grid:
            if opts.enable_pnginfo:
                grid.info.update(parameters=grid_text)
            texts.insert(0, grid_text)
            outputs.insert(0, grid)
            first_image = 1
        if opts.grid_save:
            images.save_image(grid, p.outpath_grids, "grid", p.all_seeds[0], p.all_prompts[0],
                              opts.grid_format, info=grid_text, p=p, grid=True,
                              short_filename=not opts.grid_extended_filename)

    result = Processed(p, outputs, seed=p.all_seeds[0], info=texts[0], subseed=p.all_subseeds[0],
                       index_of_first_image=first_image, infotexts=texts,
                       extra_images_list=p.extra_result_images if FORGE else ())
    if runner is not None:
        runner.postprocess(p, result)
    return result


def _mask_outputs(p, i, mask_for_overlay, image, underneath, text, to_disk, outputs):
    """"Save mask" / "Return mask" (the mask for the overlay as an RGB picture, "-mask") and
    their composite versions (what the model drew, cut out by that mask, "-mask-composite"),
    after the image itself, as the host does for every image of a job that has one."""
    if opts.return_mask or opts.save_mask:
        picture = mask_for_overlay.convert("RGB")
        if to_disk and opts.save_mask:
            images.save_image(picture, p.outpath_samples, "", p.seeds[i], p.prompts[i],
                              opts.samples_format, info=text, p=p, suffix="-mask")
        if opts.return_mask:
            outputs.append(picture)
    if opts.return_mask_composite or opts.save_mask_composite:
        cut = images.resize_image(2, mask_for_overlay, image.width, image.height).convert("L")
        composite = Image.composite(underneath.convert("RGBA").convert("RGBa"),
                                    Image.new("RGBa", image.size), cut).convert("RGBA")
        if to_disk and opts.save_mask_composite:
            images.save_image(composite, p.outpath_samples, "", p.seeds[i], p.prompts[i],
                              opts.samples_format, info=text, p=p, suffix="-mask-composite")
        if opts.return_mask_composite:
            outputs.append(composite)


def _blur(mask, sigma_x, sigma_y):
    """The host's mask blur: Gaussian along x, then along y, each with a kernel of
    2 * int(2.5 * sigma + 0.5) + 1 taps."""
    for sigma, axis in ((sigma_x, 0), (sigma_y, 1)):
        if sigma > 0:
            taps = [1, 1]
            taps[axis] = 2 * int(2.5 * sigma + 0.5) + 1
            mask = Image.fromarray(cv2.GaussianBlur(np.array(mask), tuple(taps), sigma))
    return mask


def _inverted(mask):
    return mask.point(lambda v: 255 - v)


def _cut_out(image, mask):
    """`image` made transparent where `mask` is white: what the overlay puts back."""
    cut = Image.new("RGBa", image.size)
    cut.paste(image.convert("RGBA").convert("RGBa"), mask=_inverted(mask.convert("L")))
    return cut.convert("RGBA")


@dataclasses.dataclass(repr=False)
class StableDiffusionProcessingImg2Img(StableDiffusionProcessing):
    init_images: list = None
    resize_mode: int = 0
    denoising_strength: float = 0.75
    image_cfg_scale: float = None
    mask: Any = None
    mask_blur_x: int = 4
    mask_blur_y: int = 4
    mask_blur: int = None
    mask_round: bool = True
    inpainting_fill: int = 0
    inpaint_full_res: bool = True
    inpaint_full_res_padding: int = 0
    inpainting_mask_invert: int = 0
    initial_noise_multiplier: float = None
    latent_mask: Image = None
    force_task_id: str = None
    if FORGE:
        hr_distilled_cfg: float = 3.5  # (Forge keeps it on img2img jobs for cached params)

    image_mask = nmask = mask_for_overlay = init_latent = None  # set by __post_init__, init()

    def __post_init__(self):
        super().__post_init__()
        self.image_mask, self.mask = self.mask, None
        if self.initial_noise_multiplier is None:
            self.initial_noise_multiplier = opts.initial_noise_multiplier

    @property
    def mask_blur(self):  # noqa: F811 (replaces the field, as in the host)
        return None if self.mask_blur_x != self.mask_blur_y else self.mask_blur_x

    @mask_blur.setter
    def mask_blur(self, value):
        if isinstance(value, int):  # the dataclass default (the property) is ignored
            self.mask_blur_x = self.mask_blur_y = value

    def init(self, all_prompts, all_seeds, all_subseeds):
        notes = self.extra_generation_params
        notes["Denoising strength"] = self.denoising_strength
        self.image_cfg_scale = None  # only instruct-pix2pix models use it
        self.sampler = sd_samplers.create_sampler(self.sampler_name, shared.sd_model)
        region, mask = None, self._prepared_mask(notes)
        if mask is not None and self.inpaint_full_res:
            region, mask = self._crop_to_mask(mask, notes)
        if self.image_mask is not None:
            self.overlay_images = []  # (also when a blank mask fell back to img2img)
        latent_mask = mask if self.latent_mask is None else self.latent_mask

        fill = self.inpainting_fill if mask is not None else 1  # 1: "original"
        # Colour correction is set up from the images only when nothing set it before (a
        # second init() keeps the first one's, and Loopback sets its own).
        add_color_corrections = opts.img2img_color_correction and self.color_corrections is None
        if add_color_corrections:
            self.color_corrections = []
        prepared = []
        for source in self.init_images:
            picture = images.flatten(source, opts.img2img_background_color)
            if region is None and self.resize_mode != 3:
                picture = images.resize_image(self.resize_mode, picture, self.width, self.height)
            if mask is not None:
                if self.mask_for_overlay.size != picture.size:
                    self.mask_for_overlay = images.resize_image(
                        self.resize_mode, self.mask_for_overlay, *picture.size)
                self.overlay_images.append(_cut_out(picture, self.mask_for_overlay))
            if region is not None:
                picture = images.resize_image(2, picture.crop(region), self.width, self.height)
            if fill != 1:
                picture = masking.fill(picture, latent_mask)
            if add_color_corrections:
                self.color_corrections.append(setup_color_correction(picture))
            prepared.append(np.asarray(picture, dtype=np.float32))
        if fill == 0:
            notes["Masked content"] = "fill"
        self.init_latent = self._batch(prepared)
        if mask is None:
            return

        share = latent_mask.convert("RGB").getchannel("R").resize((self.width, self.height))
        share = np.asarray(share, dtype=np.float64)[..., None] / 255.0
        share = np.around(share) if self.mask_round else share
        self.mask, self.nmask = 1.0 - share, share
        if fill == 2:
            seeded = np.random.default_rng([int(s) % 2**32 for s in all_seeds[:len(prepared)]])
            noise = seeded.uniform(0, 255, self.init_latent.shape)
            self.init_latent = self.init_latent * self.mask + noise * self.nmask
            notes["Masked content"] = "latent noise"
        elif fill == 3:
            self.init_latent = self.init_latent * self.mask + 128.0 * self.nmask
            notes["Masked content"] = "latent nothing"

    def _prepared_mask(self, notes):
        """The user's mask as the host prepares it (binary, inverted, blurred), or None."""
        if self.image_mask is None:
            return None
        mask = create_binary_mask(self.image_mask, round=self.mask_round)
        if self.inpainting_mask_invert:  # "Inpaint not masked"
            mask = _inverted(mask)
            notes["Mask mode"] = "Inpaint not masked"
        mask = _blur(mask, self.mask_blur_x, self.mask_blur_y)
        if max(self.mask_blur_x, self.mask_blur_y) > 0:
            notes["Mask blur"] = self.mask_blur
        if not self.inpaint_full_res:
            mask = images.resize_image(self.resize_mode, mask, self.width, self.height)
            self.mask_for_overlay = Image.fromarray(
                np.clip(np.asarray(mask, dtype=np.float32) * 2, 0, 255).astype(np.uint8))
        return mask

    def _crop_to_mask(self, mask, notes):
        """("Only masked") the crop region around the mask and the mask cut to it, resized to
        the job's size; for a blank mask (None, None) and whole-picture img2img."""
        self.mask_for_overlay = mask
        grey = mask.convert("L")
        found = masking.get_crop_region_v2(grey, self.inpaint_full_res_padding)
        if not found:
            self.mask_for_overlay, self.inpaint_full_res = None, False
            return None, None
        region = masking.expand_crop_region(found, self.width, self.height, *grey.size)
        left, top, right, bottom = region
        self.paste_to = (left, top, right - left, bottom - top)
        notes["Inpaint area"] = "Only masked"
        notes["Masked area padding"] = self.inpaint_full_res_padding
        return region, images.resize_image(2, grey.crop(region), self.width, self.height)

    def _batch(self, prepared):
        count = len(prepared)
        if count > 1 and count > self.batch_size:
            raise RuntimeError(f"bad number of images passed: {count}; "
                               f"expecting {self.batch_size} or less")
        if count == 1:  # the one image (its overlay, its colours) for every item of the batch
            batch = np.stack(prepared * self.batch_size)
            self.overlay_images = self.overlay_images and self.overlay_images * self.batch_size
            if self.color_corrections is not None and len(self.color_corrections) == 1:
                self.color_corrections = self.color_corrections * self.batch_size
        else:
            self.batch_size, batch = count, np.array(prepared)  # fails for mixed sizes
        if self.resize_mode == 3:  # "latent upscale": sized after batching
            target = (self.width, self.height)
            batch = np.stack([cv2.resize(x, target, interpolation=cv2.INTER_LINEAR) for x in batch])
        return batch.astype(np.float64)

    def get_token_merging_ratio(self, for_hr=False):
        """img2img's own ratio first, then the override, the img2img option, the general one."""
        return (self.token_merging_ratio
                or ("token_merging_ratio" in self.override_settings and opts.token_merging_ratio)
                or opts.token_merging_ratio_img2img or opts.token_merging_ratio)

    def sample(self, conditioning, unconditional_conditioning, seeds, subseeds, subseed_strength,
               prompts):
        if FORGE:
            _before_every_sampling(self, self.get_token_merging_ratio())
        noise_seeds, multiplier = self.rng.next(), self.initial_noise_multiplier
        if multiplier != 1.0:
            self.extra_generation_params["Noise multiplier"] = multiplier
        painted = _paint(self, noise_seeds, prompts)
        if self.mask is None:
            return painted
        return painted * self.nmask + self.init_latent * self.mask


def _paint(p, noise_seeds, prompts):
    """init * (1 - d) + expected_colour(seed, prompt) * d for each item of the batch, passed
    through the UNet's forward() (unless Skip or Interrupt stopped the sampler first)."""
    label = sd_samplers.schedule_label(p)
    if label is not None:
        p.extra_generation_params["Schedule type"] = label
    init = p.init_latent
    sizes = {len(init), len(noise_seeds)}
    if len(sizes) > 1 and 1 not in sizes:
        raise RuntimeError(f"The size of tensor a ({len(init)}) must match the size of tensor b "
                           f"({len(noise_seeds)}) at non-singleton dimension 0")
    init = np.broadcast_to(init, (max(sizes), *init.shape[1:]))
    state.sampling_steps, state.sampling_step = p.steps, 0
    if state.skipped or state.interrupted:  # the host's samplers stop at once
        return np.array(init)
    working = _allocate_for_sampling(p, len(init))  # noqa: F841 (held while sampling)
    strength = 1.0 if p.denoising_strength is None else float(p.denoising_strength)
    painted = np.empty(init.shape)
    for i in range(len(init)):
        seed = noise_seeds[min(i, len(noise_seeds) - 1)]
        colour = expected_colour(seed, prompts[min(i, len(prompts) - 1)])
        painted[i] = init[i] * (1.0 - strength) + np.asarray(colour, dtype=np.float64) * strength
    painted = np.asarray(_unet_forward(painted), dtype=np.float64)
    state.sampling_step = p.steps
    return painted


def _unet_forward(batch):
    """A1111: the UNet's forward() (scripts hook it); Forge: the sampling's patched copy."""
    if FORGE:
        return shared.sd_model.forge_objects.unet.apply(batch)
    return shared.sd_model.model.diffusion_model.forward(batch)


def _before_every_sampling(p, token_merging_ratio):
    """Forge's sample(): a fresh copy of the model objects (after the batch's LoRAs), token
    merging patched onto it, then every always-on script's process_before_every_sampling."""
    model = shared.sd_model
    model.forge_objects = model.forge_objects_after_applying_lora.shallow_copy()
    sd_models.apply_token_merging(model, token_merging_ratio)
    if p.scripts is not None:
        p.scripts.process_before_every_sampling(p, x=getattr(p, "init_latent", None), noise=None,
                                                c=None, uc=None)


LATENT_UPSCALE_MODES = ("Latent", "Latent (antialiased)", "Latent (bicubic)",
                        "Latent (bicubic antialiased)", "Latent (nearest)",
                        "Latent (nearest-exact)")
"""shared.latent_upscale_modes' names (the host's default hires upscaler is "Latent")."""


@dataclasses.dataclass(repr=False)
class StableDiffusionProcessingTxt2Img(StableDiffusionProcessing):
    enable_hr: bool = False
    denoising_strength: float = 0.75
    firstphase_width: int = 0
    firstphase_height: int = 0
    hr_scale: float = 2.0
    hr_upscaler: str = None
    hr_second_pass_steps: int = 0
    hr_resize_x: int = 0
    hr_resize_y: int = 0
    hr_checkpoint_name: str = None
    hr_sampler_name: str = None
    hr_scheduler: str = None
    hr_prompt: str = ""
    hr_negative_prompt: str = ""
    force_task_id: str = None
    if FORGE:
        hr_distilled_cfg: float = 3.5

    # Set while the job runs (init=False fields in the host).
    hr_upscale_to_x = hr_upscale_to_y = 0
    all_hr_prompts = all_hr_negative_prompts = hr_prompts = None
    firstpass_image = None
    is_hr_pass = False

    def setup_prompts(self):
        super().setup_prompts()
        if not self.enable_hr:
            return
        self.hr_prompt = self.hr_prompt or self.prompt
        self.hr_negative_prompt = self.hr_negative_prompt or self.negative_prompt
        count = self.batch_size * self.n_iter
        self.all_hr_prompts = (self.hr_prompt if isinstance(self.hr_prompt, list)
                               else [self.hr_prompt] * count)
        self.all_hr_negative_prompts = (
            self.hr_negative_prompt if isinstance(self.hr_negative_prompt, list)
            else [self.hr_negative_prompt] * count)

    def init(self, all_prompts, all_seeds, all_subseeds):
        if not self.enable_hr:
            return
        notes = self.extra_generation_params
        notes["Denoising strength"] = self.denoising_strength
        known = {x.name for x in shared.sd_upscalers}
        if self.hr_upscaler is not None and self.hr_upscaler not in LATENT_UPSCALE_MODES \
                and self.hr_upscaler not in known:
            raise Exception(f"could not find upscaler named {self.hr_upscaler}")
        self._target_size(notes)
        if not state.processing_has_refined_job_count:  # the hires pass is a job of its own
            if state.job_count == -1:
                state.job_count = self.n_iter
            state.job_count *= 2
            state.processing_has_refined_job_count = True
        if self.hr_second_pass_steps:
            notes["Hires steps"] = self.hr_second_pass_steps
        if self.hr_upscaler is not None:
            notes["Hires upscaler"] = self.hr_upscaler

    def _target_size(self, notes):
        """hr_upscale_to_x/y: "Upscale by" hr_scale, or "Resize to" hr_resize_x/y (one of
        them 0: kept in proportion; both: the larger fit, cropping left out)."""
        if self.hr_resize_x == 0 and self.hr_resize_y == 0:
            notes["Hires upscale"] = self.hr_scale
            self.hr_upscale_to_x = int(self.width * self.hr_scale)
            self.hr_upscale_to_y = int(self.height * self.hr_scale)
            return
        notes["Hires resize"] = f"{self.hr_resize_x}x{self.hr_resize_y}"
        by_width = self.hr_resize_y == 0 or (
            self.hr_resize_x and self.width / self.height < self.hr_resize_x / self.hr_resize_y)
        if by_width:
            self.hr_upscale_to_x = self.hr_resize_x
            self.hr_upscale_to_y = self.hr_resize_x * self.height // self.width
        else:
            self.hr_upscale_to_x = self.hr_resize_y * self.width // self.height
            self.hr_upscale_to_y = self.hr_resize_y

    def sample(self, conditioning, unconditional_conditioning, seeds, subseeds, subseed_strength,
               prompts):
        self.sampler = sd_samplers.create_sampler(self.sampler_name, shared.sd_model)
        if FORGE:
            _before_every_sampling(self, self.get_token_merging_ratio())
        samples = _paint_txt2img(self, self.rng.next(), prompts)
        if not self.enable_hr:
            return samples
        return self._hires(samples, prompts)

    def _hires(self, samples, prompts):
        """The hires fix: each item enlarged to the target size (an upscaler from
        shared.sd_upscalers, or a "Latent" mode: bilinear), counted as a job of its own,
        then painted over as img2img with denoising_strength and the hires prompt."""
        if state.interrupted:
            return samples
        self.is_hr_pass = True
        target = (self.hr_upscale_to_x, self.hr_upscale_to_y)
        enlarged = []
        for item in samples:
            first = Image.fromarray(np.clip(np.floor(item + 0.5), 0, 255).astype(np.uint8))
            if self.hr_upscaler is None or self.hr_upscaler in LATENT_UPSCALE_MODES:
                first = first.resize(target, resample=Image.Resampling.BILINEAR)
            else:
                first = images.resize_image(0, first, *target, upscaler_name=self.hr_upscaler)
            enlarged.append(np.asarray(first, dtype=np.float64))
        state.nextjob()
        part = slice(self.iteration * self.batch_size, (self.iteration + 1) * self.batch_size)
        self.hr_prompts = self.all_hr_prompts[part]
        self.init_latent = np.array(enlarged)
        if FORGE:
            _before_every_sampling(self, self.get_token_merging_ratio(for_hr=True))
        painted = _paint(self, self.rng.next(), self.hr_prompts)
        self.is_hr_pass = False
        return painted


def _paint_txt2img(p, noise_seeds, prompts):
    """Each item: set_txt2img_picture()'s picture * (1 - strength) + expected_colour(seed,
    prompt) * strength (the colour alone without a picture), passed through the UNet's
    forward(); with Skip or Interrupt set, the picture alone (mid grey without one)."""
    picture, strength = _txt2img_model["picture"], _txt2img_model["strength"]
    if picture is None:
        base = np.full((p.height, p.width, 3), 128.0)
    else:
        base = np.asarray(picture.convert("RGB").resize((p.width, p.height),
                                                        resample=images.LANCZOS),
                          dtype=np.float64)
    state.sampling_steps, state.sampling_step = p.steps, 0
    if state.skipped or state.interrupted:
        return np.stack([base] * len(noise_seeds))
    working = _allocate_for_sampling(p, len(noise_seeds))  # noqa: F841 (held while sampling)
    painted = np.stack([base * (1.0 - strength)
                        + np.asarray(expected_colour(seed, prompts[min(i, len(prompts) - 1)]),
                                     dtype=np.float64) * strength
                        for i, seed in enumerate(noise_seeds)])
    painted = np.asarray(_unet_forward(painted), dtype=np.float64)
    state.sampling_step = p.steps
    return painted
