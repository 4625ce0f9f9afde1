"""Stands in for ADetailer v25.3.0 (scripts/!adetailer.py, aaaaaa/p_method.py,
aaaaaa/helper.py) where its life meets other always-on scripts in the WebUI test double.

Kept from the real extension: an always-on script titled "ADetailer" whose args are an
"enabled" checkbox and one dict per model tab ({"ad_model": "None"} skips that tab). Its
postprocess_image, when enabled with a model, does on the job's own images what ADetailer
does around its inpainting:
- at the first image of a batch (p.batch_index == 0) it runs EVERY always-on script's
  postprocess on a shallow copy of the job, with a Processed of no images (so that
  scripts holding the model, like ControlNet, let go), keeping p's prompts;
- then its own face pass (here: none; the stand-in records what it saw);
- at the last image of a batch it runs every always-on script's before_process and
  process on another shallow copy of the job (so they take hold again).
Its detection models, inpainting, saving and infotext are left out.

Test scaffolding (not in the real extension): SEEN, one entry per postprocess_image call:
{"batch_index": ..., "size": image size}.
"""

from copy import copy

import gradio as gr
from modules import scripts
from modules.processing import Processed

SEEN = []


class AfterDetailerScript(scripts.Script):
    def title(self):
        return "ADetailer"

    def show(self, is_img2img):
        return scripts.AlwaysVisible

    def ui(self, is_img2img):
        enabled = gr.Checkbox(label="Enable ADetailer", value=False)
        return [enabled, gr.State({"ad_model": "face_yolov8n.pt"})]

    @staticmethod
    def is_ad_enabled(*args):
        models = [arg for arg in args if isinstance(arg, dict)]
        enabled = args[0] if args and isinstance(args[0], bool) else True
        return enabled and any(m.get("ad_model", "None") != "None" for m in models)

    def postprocess_image(self, p, pp, *args):
        if getattr(p, "_ad_disabled", False) or not self.is_ad_enabled(*args):
            return
        SEEN.append({"batch_index": p.batch_index, "size": pp.image.size})
        if p.scripts is not None and p.batch_index == 0:
            prompts = copy(p.all_prompts), copy(p.all_negative_prompts)
            try:
                p.scripts.postprocess(copy(p), Processed(p, [], p.seed, ""))
            finally:
                p.all_prompts, p.all_negative_prompts = prompts
        if p.scripts is not None and p.batch_index == p.batch_size - 1:
            prompts = copy(p.all_prompts), copy(p.all_negative_prompts)
            try:
                copy_p = copy(p)
                p.scripts.before_process(copy_p)
                p.scripts.process(copy_p)
            finally:
                p.all_prompts, p.all_negative_prompts = prompts
