"""Stands in for forge_perturbed_attention.py of extensions-
builtin/sd_forge_perturbed_attention (Forge main): the always-on
"PerturbedAttentionGuidance Integrated" script, one of Forge's UNet patchers.

As in Forge: an InputAccordion whose checkbox is its first arg (off by default); in
process_before_every_sampling, when on, it patches a clone of
p.sd_model.forge_objects.unet and puts the clone there (so the patch lasts one
sampling), and writes "pagi_enabled" into p.extra_generation_params. Its own sliders and
what the patch really does are left out: here the patch adds (0, 0, 6) to every pixel of
a sampled batch (RGB, clipped to 0..255 when decoded), so a test can see where it acted.
"""

import gradio as gr
import numpy as np
from modules import scripts
from modules.ui_components import InputAccordion

SHIFT = np.array((0, 0, 6), dtype=np.float64)


class Script(scripts.Script):
    sorting_priority = 12

    def title(self):
        return "PerturbedAttentionGuidance Integrated"

    def show(self, is_img2img):
        return scripts.AlwaysVisible

    def ui(self, *args, **kwargs):
        with InputAccordion(False, label=self.title()) as enabled:
            strength = gr.Slider(label="Strength", minimum=0, maximum=2, step=0.01, value=1.0)
        self.infotext_fields = [(enabled, lambda d: d.get("pagi_enabled", False))]
        return enabled, strength

    def process_before_every_sampling(self, p, *script_args, **kwargs):
        enabled, strength = script_args
        if not enabled:
            return
        unet = p.sd_model.forge_objects.unet.clone()
        unet.add_patch("pagi", lambda batch: batch + SHIFT * float(strength))
        p.sd_model.forge_objects.unet = unet
        p.extra_generation_params["pagi_enabled"] = True
