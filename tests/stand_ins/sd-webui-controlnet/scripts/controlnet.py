"""Stands in for sd-webui-controlnet v1.1.455 (scripts/controlnet.py, scripts/hook.py,
internal_controlnet/args.py) where its life meets other scripts in the WebUI test double.

Kept from the real extension:
- An always-on script titled "ControlNet" whose args are its units (opts
  control_net_unit_count, default 3): ControlNetUnit objects from the UI (each control
  is a gr.State holding one), or dicts from the API, turned into units when read.
- process(p): the job's enabled units are read from p.script_args; the UNet hook of the
  previous job, if any is still on, is undone first; a hint image is chosen per unit: the
  unit's own image, else p.init_images[0] (img2img); the UNet is hooked for THIS job: its
  forward is replaced at instance level, the original kept in model._original_forward.
  It also derives a numpy seed from int(p.seed) and logs "Failed to use consistent random
  seed" when p.seed is not a number.
- before_process_batch(p): nothing for these unit types (the real one wraps p.rng for
  inpaint units).
- postprocess(p, processed): if a hook is on, the detected maps (one per unit) are
  appended to processed.images, the hook is undone (model.forward = the original) and the
  script forgets it; enabled_units and detected_map are cleared.
- The hook's forward fails like the real one when the batch it gets is not the size of
  the job it was made for ("The size of tensor a (...) must match the size of tensor b").

What the hook does to a batch here (the double has no diffusion): each hooked unit moves
every pixel towards the mean colour of its hint image, by half its weight, so a test can
read from the output which units acted and which hint image each saw (hint_colour()).
Models, preprocessors, control modes, batch options, hires fix, the Batch tab hijack and
the API routes are left out.

Test scaffolding (not in the real extension): HOOKS, one entry per hook made, in order:
{"size": (batch, height, width), "hints": [(hint colour, "unit" or "init"), ...]}.
"""

import logging
from copy import copy

import gradio as gr
import numpy as np
from modules import scripts, shared

logger = logging.getLogger("ControlNet")

# What a test reads: each unit's pull towards its hint colour is weight * PULL.
PULL = 0.5
HOOKS = []


class ControlNetUnit:
    """A processing unit (the fields the stand-in uses, with the real defaults)."""

    def __init__(self, enabled=False, module="none", model="None", weight=1.0, image=None,
                 **_ignored):
        self.enabled, self.module, self.model = enabled, module, model
        self.weight, self.image = weight, image

    @classmethod
    def from_dict(cls, values):
        return cls(**values)

    def copy(self):
        return copy(self)

    def __eq__(self, other):
        return isinstance(other, ControlNetUnit) and vars(self) == vars(other)


def to_processing_unit(arg):
    return ControlNetUnit.from_dict(arg) if isinstance(arg, dict) else arg


def hint_colour(image):
    """The mean colour of a hint image (what the hook pulls pixels towards)."""
    return np.asarray(image, dtype=np.float64)[..., :3].reshape(-1, 3).mean(axis=0)


def set_numpy_seed(p):
    try:
        first = int(p.all_seeds[0] if p.seed == -1 else max(int(p.seed), 0))
        sub = int(p.all_seeds[0] if p.subseed == -1 else max(int(p.subseed), 0))
        seed = (first + sub) & 0xFFFFFFFF
        np.random.seed(seed)
        return seed
    except Exception as exc:
        logger.warning(exc)
        logger.warning("Warning: Failed to use consistent random seed.")
        return None


class UnetHook:
    def __init__(self):
        self.model = self.control_params = None
        self.size = None

    def hook(self, model, control_params, batch_shape):
        self.model, self.control_params, self.size = model, control_params, batch_shape
        model._original_forward = model.forward
        model.forward = self.forward_webui

    def forward_webui(self, x):
        if tuple(x.shape[:3]) != self.size:
            raise RuntimeError(f"The size of tensor a ({x.shape[0]}) must match the size of "
                               f"tensor b ({self.size[0]}) at non-singleton dimension 0")
        out = np.array(x, dtype=np.float64)
        for colour, weight in self.control_params:
            pull = min(1.0, weight * PULL)
            out = out * (1.0 - pull) + colour * pull
        return self.model._original_forward(out)

    def restore(self):
        self.control_params = None
        if self.model is not None and hasattr(self.model, "_original_forward"):
            self.model.forward = self.model._original_forward
            del self.model._original_forward


class Script(scripts.Script):
    def __init__(self):
        self.latest_network = None
        self.enabled_units = []
        self.detected_map = []

    def title(self):
        return "ControlNet"

    def show(self, is_img2img):
        return scripts.AlwaysVisible

    def ui(self, is_img2img):
        count = shared.opts.data.get("control_net_unit_count", 3)
        return tuple(gr.State(ControlNetUnit()) for _ in range(count))

    @staticmethod
    def get_enabled_units(p, script):
        own = p.script_args[script.args_from:script.args_to]
        return [unit for unit in map(to_processing_unit, own) if unit.enabled]

    def process(self, p, *args, **kwargs):
        unet = shared.sd_model.model.diffusion_model
        if self.latest_network is not None:
            self.latest_network.restore()
        self.enabled_units = self.get_enabled_units(p, self)
        if not self.enabled_units:
            self.latest_network = None
            return
        set_numpy_seed(p)
        params, maps, sources = [], [], []
        for unit in self.enabled_units:
            image = unit.image if unit.image is not None else p.init_images[0]
            if image is None:
                raise ValueError("controlnet is enabled but no input image is given")
            params.append((hint_colour(image), float(unit.weight)))
            maps.append((np.asarray(image)[..., :3].astype(np.uint8), unit.module))
            sources.append("unit" if unit.image is not None else "init")
        self.latest_network = UnetHook()
        self.latest_network.hook(unet, params, (p.batch_size, p.height, p.width))
        HOOKS.append({"size": (p.batch_size, p.height, p.width),
                      "hints": [(tuple(colour), source)
                                for (colour, _), source in zip(params, sources, strict=True)]})
        self.detected_map = maps

    def before_process_batch(self, p, *args, **kwargs):
        return None

    def postprocess(self, p, processed, *args):
        self.enabled_units.clear()
        if self.latest_network is None:
            return
        from PIL import Image

        processed.images.extend(Image.fromarray(detected) for detected, _ in self.detected_map)
        self.latest_network.restore()
        self.latest_network = None
        self.detected_map.clear()
