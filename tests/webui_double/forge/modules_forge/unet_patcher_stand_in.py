"""Test scaffolding, not a Forge module: what the double's stand-ins of Forge's "...
Integrated" UNet patcher scripts (extensions-builtin/sd_forge_freeu, _sag, ...) share.

As in Forge, each such script is always on, shows an InputAccordion whose checkbox is its
first arg (off by default), and in process_before_every_sampling, when on, patches a clone
of p.sd_model.forge_objects.unet and puts the clone there (so the patch lasts one
sampling), writing "<name>_enabled" into p.extra_generation_params. Their own sliders and
what the patch really does are left out: here each patch adds its own colour shift to every
pixel of a sampled batch (RGB, clipped to 0..255 when decoded), so a test can see where it
acted.
"""

import gradio as gr
import numpy as np
from modules import scripts
from modules.ui_components import InputAccordion


class UNetPatcherScript(scripts.Script):
    sorting_priority = 12
    label = ""
    """The script's title, as Forge's."""
    patch_name = ""
    """The patch's name and the infotext key's stem."""
    shift = (0, 0, 0)
    """What the patch adds to every pixel (at strength 1)."""

    def title(self):
        return self.label

    def show(self, is_img2img):
        return scripts.AlwaysVisible

    def ui(self, *args, **kwargs):
        key = f"{self.patch_name}_enabled"
        with InputAccordion(False, label=self.title()) as enabled:
            strength = gr.Slider(label="Strength", minimum=0, maximum=2, step=0.01, value=1.0)
        self.infotext_fields = [(enabled, lambda d: d.get(key, False))]
        return enabled, strength

    def process_before_every_sampling(self, p, *script_args, **kwargs):
        enabled, strength = script_args
        if not enabled:
            return
        shift = np.array(self.shift, dtype=np.float64) * float(strength)
        unet = p.sd_model.forge_objects.unet.clone()
        unet.add_patch(self.patch_name, lambda batch: batch + shift)
        p.sd_model.forge_objects.unet = unet
        p.extra_generation_params[f"{self.patch_name}_enabled"] = True
