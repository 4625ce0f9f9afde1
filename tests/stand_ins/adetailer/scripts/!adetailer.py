"""Stands in for ADetailer v25.3.0 (scripts/!adetailer.py, aaaaaa/p_method.py) where its
life meets other scripts in the WebUI test double.

Kept from the real extension: an always-on script titled "ADetailer" whose first arg
turns it on; in postprocess_image of every image of a job it is on for, around its own
detailing: for the first image of a batch (batch_index 0) it closes the other scripts'
job by calling p.scripts.postprocess(copy(p), <an empty Processed>), and for the last
(batch_index == batch_size - 1) it opens it again by calling p.scripts.before_process and
p.scripts.process on another copy(p). Both are SHALLOW copies of the user's job: they
share its dicts and carry every attribute scripts set on it.

Left out: its detection and inpainting (here it finds no face and changes nothing), its
models, its own settings, its script-args layout beyond the first arg.
"""

from copy import copy

import gradio as gr
from modules import scripts
from modules.processing import Processed

CALLS = []
"""Test scaffolding: ("postprocess" or "process", p.iteration, p.batch_index) per call."""


class AfterDetailerScript(scripts.Script):
    def title(self):
        return "ADetailer"

    def show(self, is_img2img):
        return scripts.AlwaysVisible

    def ui(self, is_img2img):
        return [gr.Checkbox(value=False, label="Enable ADetailer")]

    def postprocess_image(self, p, pp, *args):
        if not args or not args[0]:
            return
        if p.scripts is not None and p.batch_index == 0:
            CALLS.append(("postprocess", p.iteration, p.batch_index))
            p.scripts.postprocess(copy(p), Processed(p, [], p.seed, ""))
        if p.scripts is not None and p.batch_index == p.batch_size - 1:
            CALLS.append(("process", p.iteration, p.batch_index))
            copied = copy(p)
            p.scripts.before_process(copied)
            p.scripts.process(copied)
