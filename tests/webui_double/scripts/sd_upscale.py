"""Stands in for scripts/sd_upscale.py (A1111 v1.10.1): the "SD upscale" img2img script.

As in the host: the init image is flattened and upscaled by `scale_factor` with the chosen
upscaler (shared.sd_upscalers: by index, or by name in an API call), cut into tiles of the
job's width x height overlapping by `overlap` pixels (images.split_grid), and the SAME p
goes to process_images() once per batch of tiles (init_images = those tiles; seed + 1 after
each call; saving off; n_iter 1, batch count looped over); the processed tiles are blended
back (images.combine_grid). Its two extra_generation_params entries are set once. Saving
the combined image (opts.samples_save) is left out.
"""

import math

import gradio as gr
from modules import images, processing, scripts, shared
from modules.processing import Processed
from PIL import Image


class Script(scripts.Script):
    def title(self):
        return "SD upscale"

    def show(self, is_img2img):
        return is_img2img

    def ui(self, is_img2img):
        info = gr.HTML("<p>Will upscale the image by the selected scale factor; use width "
                       "and height sliders to set tile size</p>")
        overlap = gr.Slider(minimum=0, maximum=256, step=16, label="Tile overlap", value=64,
                            elem_id=self.elem_id("overlap"))
        scale = gr.Slider(minimum=1.0, maximum=4.0, step=0.05, label="Scale Factor", value=2.0,
                          elem_id=self.elem_id("scale_factor"))
        upscaler = gr.Radio(label="Upscaler", choices=[x.name for x in shared.sd_upscalers],
                            value=shared.sd_upscalers[0].name, type="index",
                            elem_id=self.elem_id("upscaler_index"))
        return [info, overlap, upscaler, scale]

    def run(self, p, _, overlap, upscaler_index, scale_factor):
        if isinstance(upscaler_index, str):
            names = [x.name.lower() for x in shared.sd_upscalers]
            upscaler_index = names.index(upscaler_index.lower())
        processing.fix_seed(p)
        upscaler = shared.sd_upscalers[upscaler_index]
        p.extra_generation_params["SD upscale overlap"] = overlap
        p.extra_generation_params["SD upscale upscaler"] = upscaler.name
        first_info, seed = None, p.seed
        source = images.flatten(p.init_images[0], shared.opts.img2img_background_color)
        if upscaler.name != "None":
            source = upscaler.scaler.upscale(source, scale_factor, upscaler.data_path)
        grid = images.split_grid(source, tile_w=p.width, tile_h=p.height, overlap=overlap)
        batch_size, upscale_count = p.batch_size, p.n_iter
        p.n_iter, p.do_not_save_grid, p.do_not_save_samples = 1, True, True
        work = [tile for _, _, row in grid.tiles for _, _, tile in row]
        batch_count = math.ceil(len(work) / batch_size)
        shared.state.job_count = batch_count * upscale_count
        results = []
        for n in range(upscale_count):
            p.seed = seed + n
            done = []
            for i in range(batch_count):
                p.batch_size = batch_size
                p.init_images = work[i * batch_size:(i + 1) * batch_size]
                processed = processing.process_images(p)
                first_info = first_info if first_info is not None else processed.info
                p.seed = processed.seed + 1
                done += processed.images
            position = 0
            for _, _, row in grid.tiles:
                for tile in row:
                    tile[2] = (done[position] if position < len(done)
                               else Image.new("RGB", (p.width, p.height)))
                    position += 1
            results.append(images.combine_grid(grid))
        return Processed(p, results, seed, first_info)
