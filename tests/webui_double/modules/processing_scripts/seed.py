"""Stands in for modules/processing_scripts/seed.py (A1111 v1.10.1): the built-in always-on
"Seed" script (seed, "Extra", variation seed and strength, resize-seed-from width and
height). In the UI its setup() sets p.seed, and the variation and resize values only when
"Extra" is ticked and they are in use. The reuse/random buttons and --use-textbox-seed
are left out."""

import gradio as gr
from modules import infotext_utils, scripts


class ScriptSeed(scripts.ScriptBuiltinUI):
    section = "seed"
    create_group = False

    def __init__(self):
        self.seed = None

    def title(self):
        return "Seed"

    def ui(self, is_img2img):
        name = self.elem_id
        with gr.Row(elem_id=name("seed_row")):
            self.seed = gr.Number(label="Seed", value=-1, precision=0, elem_id=name("seed"))
            extra = gr.Checkbox(label="Extra", value=False, elem_id=name("subseed_show"))
        with gr.Group(visible=False, elem_id=name("seed_extras")):
            subseed = gr.Number(label="Variation seed", value=-1, precision=0,
                                elem_id=name("subseed"))
            strength = gr.Slider(label="Variation strength", minimum=0, maximum=1, step=0.01,
                                 value=0.0, elem_id=name("subseed_strength"))
            from_w, from_h = (
                gr.Slider(label=f"Resize seed from {side}", minimum=0, maximum=2048, step=8,
                          value=0, elem_id=name(f"seed_resize_from_{side[0]}"))
                for side in ("width", "height"))
        field = infotext_utils.PasteField
        self.infotext_fields = [
            field(self.seed, "Seed", api="seed"),
            field(extra, lambda d: "Variation seed" in d or "Seed resize from-1" in d),
            field(subseed, "Variation seed", api="subseed"),
            field(strength, "Variation seed strength", api="subseed_strength"),
            # the host pairs these api names crosswise; kept as it is
            field(from_w, "Seed resize from-1", api="seed_resize_from_h"),
            field(from_h, "Seed resize from-2", api="seed_resize_from_w"),
        ]
        return self.seed, extra, subseed, strength, from_w, from_h

    def setup(self, p, seed, seed_checkbox, subseed, subseed_strength, seed_resize_from_w,
              seed_resize_from_h):
        p.seed = seed
        if not seed_checkbox:
            return
        if subseed_strength > 0:
            p.subseed, p.subseed_strength = subseed, subseed_strength
        if min(seed_resize_from_w, seed_resize_from_h) > 0:
            p.seed_resize_from_w, p.seed_resize_from_h = seed_resize_from_w, seed_resize_from_h
