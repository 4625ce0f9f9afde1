"""Stands in for scripts/loopback.py (A1111 v1.10.1): the "Loopback" img2img script.

As in the host: the seed is fixed once; batch size and count become 1 per call (the batch
count is looped over instead); the SAME p goes to process_images() once per loop, each
loop starting from the previous loop's image, with seed + 1 and a denoising strength that
moves towards the final one along the chosen curve; after the first loop "Masked content"
is set to "original" (and put back after each batch); p.extra_generation_params is
replaced by the script's two entries at the start. The result: every loop's image (batch
count 1) or each batch's last image, after a grid of them when there are several.
With "Apply color correction to img2img results" on, every loop's p.color_corrections is
set to the first loop's picture before process_images(), so that init() keeps it.
Interrogation (CLIP / DeepBooru) and saving the grid are left out.
"""

import math

import gradio as gr
from modules import images, processing, scripts, shared
from modules.processing import Processed

CURVES = ("Aggressive", "Linear", "Lazy")


class Script(scripts.Script):
    def title(self):
        return "Loopback"

    def show(self, is_img2img):
        return is_img2img

    def ui(self, is_img2img):
        loops = gr.Slider(minimum=1, maximum=32, step=1, label="Loops", value=4,
                          elem_id=self.elem_id("loops"))
        final = gr.Slider(minimum=0, maximum=1, step=0.01, label="Final denoising strength",
                          value=0.5, elem_id=self.elem_id("final_denoising_strength"))
        curve = gr.Dropdown(label="Denoising strength curve", choices=list(CURVES),
                            value="Linear")
        interrogation = gr.Dropdown(label="Append interrogated prompt at each iteration",
                                    choices=["None", "CLIP", "DeepBooru"], value="None")
        return [loops, final, curve, interrogation]

    def run(self, p, loops, final_denoising_strength, denoising_curve, append_interrogation):
        if append_interrogation != "None":
            raise NotImplementedError("interrogation is not imitated by the test double")
        processing.fix_seed(p)
        batch_count = p.n_iter
        p.extra_generation_params = {"Final denoising strength": final_denoising_strength,
                                     "Denoising curve": denoising_curve}
        p.batch_size = p.n_iter = 1
        first_strength = p.denoising_strength
        first_images, first_seed, first_info = p.init_images, None, None
        shared.state.job_count = loops * batch_count
        first_colours = [processing.setup_color_correction(p.init_images[0])]

        def strength_after(loop):
            if loops == 1:
                return first_strength
            progress = loop / (loops - 1)
            shaped = {"Aggressive": math.sin(progress * math.pi * 0.5),
                      "Lazy": 1 - math.cos(progress * math.pi * 0.5)}.get(denoising_curve,
                                                                         progress)
            return first_strength + (final_denoising_strength - first_strength) * shaped

        history = []
        original_fill = p.inpainting_fill
        for batch in range(batch_count):
            p.init_images, p.denoising_strength = first_images, first_strength
            last = None
            for loop in range(loops):
                p.n_iter = p.batch_size = 1
                p.do_not_save_grid = True
                if shared.opts.img2img_color_correction:  # every loop keeps the first's colours
                    p.color_corrections = first_colours
                shared.state.job = f"Iteration {loop + 1}/{loops}, batch {batch + 1}/{batch_count}"
                processed = processing.process_images(p)
                if shared.state.interrupted or shared.state.stopping_generation:
                    break
                if first_seed is None:
                    first_seed, first_info = processed.seed, processed.info
                p.seed = processed.seed + 1
                p.denoising_strength = strength_after(loop + 1)
                if shared.state.skipped:
                    break
                last = processed.images[0]
                p.init_images = [last]
                p.inpainting_fill = 1  # "original" from the second loop on
                if batch_count == 1:
                    history.append(last)
            if batch_count > 1 and not shared.state.skipped and not shared.state.interrupted:
                history.append(last)
            p.inpainting_fill = original_fill
            if shared.state.interrupted or shared.state.stopping_generation:
                break
        grids = []
        if len(history) > 1 and shared.opts.return_grid:
            grids.append(images.image_grid(history, rows=1))
        return Processed(p, grids + history, first_seed, first_info)
