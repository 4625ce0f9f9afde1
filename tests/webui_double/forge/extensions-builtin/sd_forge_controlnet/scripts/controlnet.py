"""Stands in for scripts/controlnet.py of Forge's built-in ControlNet
(extensions-builtin/sd_forge_controlnet, Forge main) where its life meets other scripts.

Kept from Forge:
- An always-on script titled "ControlNet" whose args are its units (opts
  control_net_unit_count, default 3): ControlNetUnit objects from the UI (each control a
  gr.State holding one, disabled), or dicts from the API (from_dict).
- process(p): current_params = {} (a NEW dict), then per enabled unit: its preprocessor
  (global_state.get_preprocessor(unit.module)) runs on the unit's input, and its detected
  map is appended to p.extra_result_images (save_detected_map), so the job's result holds
  it once per process() call; the params are kept in current_params[i], i the unit's
  place among the enabled units of the args process() got.
- The input, as get_input_data chooses it: the unit's image, or its image_fg's alpha when
  the image is all black (< 5) and something is drawn on image_fg; without an image,
  p.init_images[0] (and p.image_mask as the mask). The mask: mask_image_fg's alpha where
  something is drawn on it, else mask_image, else image_fg's alpha, else none; it is
  resized to the input picture's size (nearest).
- process_before_every_sampling(p, ...): per enabled unit of the args it gets, the params
  current_params[i] (a KeyError, reported by the runner, when there are none) patch a clone
  of p.sd_model.forge_objects.unet, which replaces it: the patch lives as long as that
  sampling's copy of the model objects.
- postprocess_batch_list: the params' after-sampling step (nothing here); postprocess(p,
  processed): current_params = {}.

What a unit's patch does here (no diffusion): every pixel moves towards the mean colour of
the unit's input picture by half its weight, where its mask (resized to the batch) is set
(everywhere without a mask), so a test reads from the output which units acted and what
each saw. Models, control modes, resize modes, hires fix options, batch inputs and the API
routes are left out.

Test scaffolding (not in Forge): HOOKS, one entry per sampling the units patched, in
order: {"size": (batch, height, width) of the sampling, and per unit: "params_sizes"
((height, width) of the job whose process() made its params), "hints" ((hint colour,
"unit" or "init")), "masks" (None or the share of its mask that is set)};
PREPROCESSOR_RUNS: the unit's module per preprocessor run.
"""

import logging

import gradio as gr
import numpy as np
from lib_controlnet import global_state
from lib_controlnet.external_code import ControlNetUnit
from modules import scripts, shared
from PIL import Image

logger = logging.getLogger("ControlNet")

PULL = 0.5
HOOKS = []
PREPROCESSOR_RUNS = []


def hint_colour(image):
    return np.asarray(image, dtype=np.float64)[..., :3].reshape(-1, 3).mean(axis=0)


def _drawn(layer):
    """The alpha of an RGBA canvas layer, or None."""
    if layer is None:
        return None
    layer = np.asarray(layer)
    return layer[:, :, 3] if layer.ndim == 3 and layer.shape[2] == 4 else None


class ControlNetCachedParameters:
    def __init__(self):
        self.preprocessor = self.model = self.control_cond = self.control_mask = None
        self.source = self.size = None


class ControlNetForForgeOfficial(scripts.Script):
    sorting_priority = 10

    def title(self):
        return "ControlNet"

    def show(self, is_img2img):
        return scripts.AlwaysVisible

    def ui(self, is_img2img):
        count = shared.opts.data.get("control_net_unit_count", 3)
        return tuple(gr.State(ControlNetUnit(enabled=False, module="None", model="None"))
                     for _ in range(count))

    def get_enabled_units(self, units):
        units = [ControlNetUnit.from_dict(u) if isinstance(u, dict) else u for u in units]
        assert all(isinstance(unit, ControlNetUnit) for unit in units)
        return [unit for unit in units if unit.enabled]

    @staticmethod
    def get_input_data(p, unit):
        image_fg = _drawn(unit.image_fg)
        source = "unit"
        if unit.image is None:
            image = np.asarray(p.init_images[0].convert("RGB"))
            source = "init"
            mask = getattr(p, "image_mask", None)
            mask = None if mask is None else np.asarray(mask.convert("L"))
        else:
            image = np.asarray(unit.image)
            if (image < 5).all() and image_fg is not None and (image_fg > 5).any():
                image = np.repeat(image_fg[:, :, None], 3, axis=2)
            mask_fg = _drawn(unit.mask_image_fg)
            own_mask = None if unit.mask_image is None else np.asarray(unit.mask_image)
            if mask_fg is not None and (mask_fg > 5).any():
                mask = mask_fg
            elif own_mask is not None and (own_mask > 5).any():
                mask = own_mask if own_mask.ndim == 2 else own_mask[:, :, 0]
            elif image_fg is not None and (image_fg > 5).any():
                mask = image_fg
            else:
                mask = None
        if mask is not None:
            mask = np.asarray(Image.fromarray(mask.astype(np.uint8)).resize(
                (image.shape[1], image.shape[0]), Image.NEAREST))
        return image[:, :, :3], mask, source

    def process_unit_after_click_generate(self, p, unit, params):
        preprocessor = global_state.get_preprocessor(unit.module)
        if preprocessor is None:
            raise KeyError(f"no preprocessor named {unit.module!r}")
        image, mask, source = self.get_input_data(p, unit)
        PREPROCESSOR_RUNS.append(unit.module)
        output = preprocessor(input_image=image, input_mask=mask, resolution=unit.processor_res)
        if unit.save_detected_map:
            shown = output if isinstance(output, np.ndarray) else image
            p.extra_result_images.append(np.ascontiguousarray(shown))
        params.preprocessor, params.control_cond, params.control_mask = preprocessor, image, mask
        params.source, params.size = source, (p.height, p.width)

    def process_unit_before_every_sampling(self, p, unit, params):
        colour, weight = hint_colour(params.control_cond), float(unit.weight)
        mask = params.control_mask
        shape = (p.batch_size, p.height, p.width)

        def pull(batch):
            share = min(1.0, weight * PULL)
            if mask is not None:
                resized = Image.fromarray(mask.astype(np.uint8)).resize(
                    (batch.shape[2], batch.shape[1]), Image.NEAREST)
                share = share * (np.asarray(resized, dtype=np.float64)[None, :, :, None] > 127)
            return batch * (1.0 - share) + colour * share

        unet = p.sd_model.forge_objects.unet.clone()
        unet.add_patch("controlnet", pull)
        p.sd_model.forge_objects.unet = unet
        return {"size": shape, "params_size": params.size,
                "hint": (tuple(colour), params.source),
                "mask": None if mask is None else float((mask > 127).mean())}

    def process(self, p, *args, **kwargs):
        self.current_params = {}
        for i, unit in enumerate(self.get_enabled_units(args)):
            params = ControlNetCachedParameters()
            self.process_unit_after_click_generate(p, unit, params)
            self.current_params[i] = params

    def process_before_every_sampling(self, p, *args, **kwargs):
        patched = [self.process_unit_before_every_sampling(p, unit, self.current_params[i])
                   for i, unit in enumerate(self.get_enabled_units(args))]
        if patched:
            HOOKS.append({"size": patched[0]["size"],
                          "params_sizes": [x["params_size"] for x in patched],
                          "hints": [x["hint"] for x in patched],
                          "masks": [x["mask"] for x in patched]})

    def postprocess_batch_list(self, p, pp, *args, **kwargs):
        for i, _unit in enumerate(self.get_enabled_units(args)):
            self.current_params[i].preprocessor.process_after_every_sampling(
                p, self.current_params[i])

    def postprocess(self, p, processed, *args):
        self.current_params = {}
