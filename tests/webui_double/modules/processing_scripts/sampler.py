"""Stands in for modules/processing_scripts/sampler.py (A1111 v1.10.1): the built-in
always-on "Sampler" script, whose controls are a tab's steps, sampler and scheduler (the
default "samplers in a dropdown" layout). In the UI, not for API requests
(setup_for_ui_only), its setup() copies them into p over what p held."""

import gradio as gr
from modules import infotext_utils, scripts, sd_samplers


class ScriptSampler(scripts.ScriptBuiltinUI):
    section = "sampler"

    def __init__(self):
        self.steps = self.sampler_name = self.scheduler = None

    def title(self):
        return "Sampler"

    def ui(self, is_img2img):
        names = [x.name for x in sd_samplers.visible_samplers()]
        labels = [x.label for x in sd_samplers.schedulers]
        tab = self.tabname
        with gr.Row(elem_id=f"sampler_selection_{tab}"):
            self.sampler_name = gr.Dropdown(label="Sampling method", choices=names, value=names[0],
                                            elem_id=f"{tab}_sampling")
            self.scheduler = gr.Dropdown(label="Schedule type", choices=labels, value=labels[0],
                                         elem_id=f"{tab}_scheduler")
            self.steps = gr.Slider(minimum=1, maximum=150, step=1, value=20, label="Sampling steps",
                                   elem_id=f"{tab}_steps")
        readers = {"steps": "Steps", "sampler_name": sd_samplers.get_sampler_from_infotext,
                   "scheduler": sd_samplers.get_scheduler_from_infotext}
        self.infotext_fields = [infotext_utils.PasteField(getattr(self, api), target, api=api)
                                for api, target in readers.items()]
        return (self.steps, self.sampler_name, self.scheduler)

    def setup(self, p, steps, sampler_name, scheduler):
        p.steps, p.sampler_name, p.scheduler = steps, sampler_name, scheduler
