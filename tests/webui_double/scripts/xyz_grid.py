"""Stands in for scripts/xyz_grid.py (A1111 v1.10.1): the built-in "X/Y/Z plot" script.

Loaded as the host loads it: a file of the WebUI root's scripts/ folder, run as a module
named "xyz_grid.py" (not in sys.modules) before any extension's scripts; extensions find
it in modules.scripts.scripts_data (script_class.__module__ == "xyz_grid.py") and append
their AxisOption objects to its module-level `axis_options`.

As in the host:
- AxisOption(label, type, apply, format_value, confirm, cost, choices, prepare);
  AxisOptionImg2Img / AxisOptionTxt2Img show in one tab only. ui(is_img2img) takes the
  tab's axes from axis_options AT THAT MOMENT into self.current_axis_options (axes added
  later are not offered until the UI is made again); the X/Y/Z type args are indices
  into that list. Controls, labels and their order are the host's.
- run(): seeds fixed first (unless "Keep -1 for seeds"); batch size 1 unless
  opts.return_grid; each axis's values: the dropdown's (an axis with choices, not in CSV
  mode), else prepare(text) if the axis has one, else the text split as CSV (quotes
  respected, items stripped); for int and float axes empty items are dropped and ranges
  expand ("1-5", "1-9 (+2)", "1-9 [5]"; float: "0.2-0.8 (+0.2)", "0.2-0.8 [4]", with the
  host's quirks: "a-b" for floats steps by 1 up to b, an explicit step needs a sign);
  then every value is converted with the axis type (a ValueError stops the grid) and
  confirm(p, values) runs before any cell; the grid size is checked against
  opts.img_max_size_mp; seeds of Seed axes fixed.
- Cells in the host's order (the costliest axis outermost; with equal costs Z, then Y,
  then X innermost); each cell gets pc = copy(p) (a SHALLOW copy: extra_generation_params,
  override_settings and the other dicts and lists are p's own objects; only `styles` is
  copied), the X, Y and Z apply(pc, value, values) run in that order, "vary seeds" adds
  to pc.seed, then process_images(pc); an exception is shown (errors.display) and the
  cell is empty. Interrupt / stop leaves the remaining cells empty.
- The result: one grid per Z value (rows = Y values), the Z grid of those in front, then
  each cell's first image (its own grid when a cell makes several images and
  opts.return_grid) with that cell's first infotext; the grids' infotexts are made from
  the first cell's pc with "Script", "X Type", "X Values", ... added to a copy of its
  extra_generation_params. Without "Include Sub Images" only the grids are returned,
  without "Include Sub Grids" only the Z grid; opts.grid_save saves it.
Left out: the swap and fill buttons and every event handler of the UI, legends (the
grid's annotations), the Prompt order, Checkpoint, VAE, Sampler and other axes that need
models, SharedSettingsStackHelper (reloading model weights), the progress bar totals.
"""

import csv
import random
import re
from collections import namedtuple
from copy import copy
from io import StringIO
from itertools import chain

import gradio as gr
import modules.scripts as scripts
import numpy as np
from modules import errors, images, processing, shared
from modules.processing import Processed, process_images
from modules.shared import opts, state
from PIL import Image

AxisInfo = namedtuple("AxisInfo", ["axis", "values"])


def apply_field(field):
    def apply(p, x, xs):
        setattr(p, field, x)

    return apply


def apply_prompt(p, x, xs):
    if xs[0] not in p.prompt and xs[0] not in p.negative_prompt:
        raise RuntimeError(f"Prompt S/R did not find {xs[0]} in prompt or negative prompt.")
    p.prompt = p.prompt.replace(xs[0], x)
    p.negative_prompt = p.negative_prompt.replace(xs[0], x)


def do_nothing(p, x, xs):
    pass


def format_value_add_label(p, opt, x):
    return f"{opt.label}: {round(x, 8) if type(x) is float else x}"


def format_value(p, opt, x):
    return round(x, 8) if type(x) is float else x


def format_nothing(p, opt, x):
    return ""


def str_permutations(x):
    return x


def list_to_csv_string(data_list):
    with StringIO() as out:
        csv.writer(out).writerow(data_list)
        return out.getvalue().strip()


def csv_string_to_list_strip(data_str):
    rows = csv.reader(StringIO(data_str), skipinitialspace=True)
    return [item.strip() for item in chain.from_iterable(rows)]


class AxisOption:
    def __init__(self, label, type, apply, format_value=format_value_add_label, confirm=None,
                 cost=0.0, choices=None, prepare=None):
        self.label, self.type, self.apply = label, type, apply
        self.format_value, self.confirm, self.cost = format_value, confirm, cost
        self.prepare, self.choices = prepare, choices


class AxisOptionImg2Img(AxisOption):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.is_img2img = True


class AxisOptionTxt2Img(AxisOption):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.is_img2img = False


axis_options = [
    AxisOption("Nothing", str, do_nothing, format_value=format_nothing),
    AxisOption("Seed", int, apply_field("seed")),
    AxisOption("Var. seed", int, apply_field("subseed")),
    AxisOption("Steps", int, apply_field("steps")),
    AxisOptionTxt2Img("Hires steps", int, apply_field("hr_second_pass_steps")),
    AxisOption("CFG Scale", float, apply_field("cfg_scale")),
    AxisOptionImg2Img("Image CFG Scale", float, apply_field("image_cfg_scale")),
    AxisOption("Prompt S/R", str, apply_prompt, format_value=format_value),
    AxisOption("Denoising", float, apply_field("denoising_strength")),
]

# The range forms: "a-b", "a-b (+step)", "a-b [count]" (a step needs its sign).
_INT = r"[+-]?\s*\d+"
_FLOAT = r"[+-]?\s*\d+(?:\.\d*)?"
re_range = re.compile(rf"\s*({_INT})\s*-\s*({_INT})(?:\s*\(([+-]\d+)\s*\))?\s*")
re_range_count = re.compile(rf"\s*({_INT})\s*-\s*({_INT})(?:\s*\[(\d+)\s*])?\s*")
re_range_float = re.compile(
    rf"\s*({_FLOAT})\s*-\s*({_FLOAT})(?:\s*\(([+-]\d+(?:\.\d*)?)\s*\))?\s*")
re_range_count_float = re.compile(
    rf"\s*({_FLOAT})\s*-\s*({_FLOAT})(?:\s*\[(\d+(?:\.\d*)?)\s*])?\s*")


def _number(text, kind):
    return kind(text.replace(" ", ""))


def _expand_int(val):
    if (m := re_range.fullmatch(val)) is not None:
        step = int(m.group(3)) if m.group(3) is not None else 1
        return list(range(_number(m.group(1), int), _number(m.group(2), int) + 1, step))
    if (m := re_range_count.fullmatch(val)) is not None:
        count = int(m.group(3)) if m.group(3) is not None else 1
        return [int(x) for x in np.linspace(_number(m.group(1), int), _number(m.group(2), int),
                                            num=count).tolist()]
    return [val]


def _expand_float(val):
    if (m := re_range_float.fullmatch(val)) is not None:
        step = float(m.group(3)) if m.group(3) is not None else 1
        start, end = _number(m.group(1), float), _number(m.group(2), float)
        return np.arange(start, end + step, step).tolist()
    if (m := re_range_count_float.fullmatch(val)) is not None:
        count = int(float(m.group(3))) if m.group(3) is not None else 1
        return np.linspace(_number(m.group(1), float), _number(m.group(2), float),
                           num=count).tolist()
    return [val]


def draw_xyz_grid(p, xs, ys, zs, cell, include_lone_images, include_sub_grids,
                  first_axes_processed, second_axes_processed):
    list_size = len(xs) * len(ys) * len(zs)
    state.job_count = list_size * p.n_iter
    result = None

    def index(ix, iy, iz):
        return ix + iy * len(xs) + iz * len(xs) * len(ys)

    def process_cell(ix, iy, iz):
        nonlocal result
        state.job = f"{index(ix, iy, iz) + 1} out of {list_size}"
        processed = cell(xs[ix], ys[iy], zs[iz], ix, iy, iz)
        if result is None:  # the first cell's Processed holds the whole grid's lists
            result = copy(processed)
            for name in ("images", "all_prompts", "all_seeds", "infotexts"):
                setattr(result, name, [None] * list_size)
            result.index_of_first_image = 1
        at = index(ix, iy, iz)
        if processed.images:
            result.images[at] = processed.images[0]
            result.all_prompts[at], result.all_seeds[at] = processed.prompt, processed.seed
            result.infotexts[at] = processed.infotexts[0]
        else:  # an empty cell, the size of the first image
            first = result.images[0]
            size = first.size if first is not None else (result.width, result.height)
            result.images[at] = Image.new(first.mode if first is not None else "P", size)

    sizes = {"x": len(xs), "y": len(ys), "z": len(zs)}
    third = ({"x", "y", "z"} - {first_axes_processed, second_axes_processed}).pop()
    for a in range(sizes[first_axes_processed]):
        for b in range(sizes[second_axes_processed]):
            for c in range(sizes[third]):
                at = {first_axes_processed: a, second_axes_processed: b, third: c}
                process_cell(at["x"], at["y"], at["z"])

    if not result or not any(result.images):
        return Processed(p, [])
    z_count = len(zs)
    for i in range(z_count):
        start = i * len(xs) * len(ys) + i
        end = start + len(xs) * len(ys)
        result.images.insert(i, images.image_grid(result.images[start:end], rows=len(ys)))
        result.all_prompts.insert(i, result.all_prompts[start])
        result.all_seeds.insert(i, result.all_seeds[start])
        result.infotexts.insert(i, result.infotexts[start])
    result.images.insert(0, images.image_grid(result.images[:z_count], rows=1))
    result.infotexts.insert(0, result.infotexts[0])
    return result


class Script(scripts.Script):
    def title(self):
        return "X/Y/Z plot"

    def ui(self, is_img2img):
        self.current_axis_options = [x for x in axis_options
                                     if type(x) is AxisOption or x.is_img2img == is_img2img]
        labels = [x.label for x in self.current_axis_options]
        made = []
        for axis, default in (("x", labels[1]), ("y", labels[0]), ("z", labels[0])):
            name = axis.upper()
            made += [
                gr.Dropdown(label=f"{name} type", choices=labels, value=default, type="index",
                            elem_id=self.elem_id(f"{axis}_type")),
                gr.Textbox(label=f"{name} values", lines=1, elem_id=self.elem_id(f"{axis}_values")),
                gr.Dropdown(label=f"{name} values", visible=False, multiselect=True,
                            interactive=True),
            ]
        made += [gr.Checkbox(label="Draw legend", value=True),
                 gr.Checkbox(label="Include Sub Images", value=False),
                 gr.Checkbox(label="Include Sub Grids", value=False),
                 gr.Checkbox(label="Keep -1 for seeds", value=False),
                 gr.Checkbox(label="Vary seeds for X", value=False),
                 gr.Checkbox(label="Vary seeds for Y", value=False),
                 gr.Checkbox(label="Vary seeds for Z", value=False),
                 gr.Slider(label="Grid margins (px)", minimum=0, maximum=500, value=0, step=2),
                 gr.Checkbox(label="Use text inputs instead of dropdowns", value=False)]
        self.infotext_fields = [(made[0], "X Type"), (made[1], "X Values"),
                                (made[3], "Y Type"), (made[4], "Y Values"),
                                (made[6], "Z Type"), (made[7], "Z Values")]
        return made

    def run(self, p, x_type, x_values, x_values_dropdown, y_type, y_values, y_values_dropdown,
            z_type, z_values, z_values_dropdown, draw_legend, include_lone_images,
            include_sub_grids, no_fixed_seeds, vary_seeds_x, vary_seeds_y, vary_seeds_z,
            margin_size, csv_mode):
        x_type, y_type, z_type = x_type or 0, y_type or 0, z_type or 0
        if not no_fixed_seeds:
            processing.fix_seed(p)
        if not opts.return_grid:
            p.batch_size = 1

        def process_axis(opt, vals, vals_dropdown):
            if opt.label == "Nothing":
                return [0]
            if opt.choices is not None and not csv_mode:
                valslist = vals_dropdown
            elif opt.prepare is not None:
                valslist = opt.prepare(vals)
            else:
                valslist = csv_string_to_list_strip(vals)
            if opt.type is int or opt.type is float:
                expand = _expand_int if opt.type is int else _expand_float
                valslist = [x for val in valslist if val.strip() != "" for x in expand(val)]
            valslist = [opt.type(x) for x in valslist]
            if opt.confirm:
                opt.confirm(p, valslist)
            return valslist

        opts_xyz = [self.current_axis_options[t] for t in (x_type, y_type, z_type)]
        texts = [x_values, y_values, z_values]
        dropdowns = [x_values_dropdown, y_values_dropdown, z_values_dropdown]
        for i, opt in enumerate(opts_xyz):
            if opt.choices is not None and not csv_mode:
                texts[i] = list_to_csv_string(dropdowns[i])
        xs, ys, zs = (process_axis(opt, texts[i], dropdowns[i]) for i, opt in enumerate(opts_xyz))
        x_opt, y_opt, z_opt = opts_xyz
        grid_mp = round(len(xs) * len(ys) * len(zs) * p.width * p.height / 1000000)
        assert grid_mp < opts.img_max_size_mp, (
            f"Error: Resulting grid would be too large ({grid_mp} MPixels) (max configured "
            f"size is {opts.img_max_size_mp} MPixels)")

        def fix_axis_seeds(axis_opt, axis_list):
            if axis_opt.label not in ("Seed", "Var. seed"):
                return axis_list
            return [int(random.randrange(4294967294)) if v in (None, "", -1) else v
                    for v in axis_list]

        if not no_fixed_seeds:
            xs, ys, zs = (fix_axis_seeds(o, v) for o, v in zip(opts_xyz, (xs, ys, zs), strict=True))
        state.xyz_plot_x, state.xyz_plot_y = AxisInfo(x_opt, xs), AxisInfo(y_opt, ys)
        state.xyz_plot_z = AxisInfo(z_opt, zs)

        costs = {"x": x_opt.cost, "y": y_opt.cost, "z": z_opt.cost}
        first, second = "z", "y"
        for axis, others in (("x", ("y", "z")), ("y", ("x", "z")), ("z", ("x", "y"))):
            if all(costs[axis] > costs[o] for o in others):
                first = axis
                second = others[0] if costs[others[0]] > costs[others[1]] else others[1]
        grid_infotext = [None] * (1 + len(zs))

        def cell(x, y, z, ix, iy, iz):
            if state.interrupted or state.stopping_generation:
                return Processed(p, [], p.seed, "")
            pc = copy(p)
            pc.styles = pc.styles[:]
            x_opt.apply(pc, x, xs)
            y_opt.apply(pc, y, ys)
            z_opt.apply(pc, z, zs)
            xdim = len(xs) if vary_seeds_x else 1
            ydim = len(ys) if vary_seeds_y else 1
            pc.seed += (ix if vary_seeds_x else 0) + (iy * xdim if vary_seeds_y else 0) + (
                iz * xdim * ydim if vary_seeds_z else 0)
            try:
                res = process_images(pc)
            except Exception as e:
                errors.display(e, "generating image for xyz plot")
                res = Processed(p, [], p.seed, "")
            if ix == 0 and iy == 0 and grid_infotext[1 + iz] is None:
                pc.extra_generation_params = copy(pc.extra_generation_params)
                pc.extra_generation_params["Script"] = self.title()
                for name, opt, text in (("X", x_opt, x_values), ("Y", y_opt, y_values)):
                    if opt.label != "Nothing":
                        pc.extra_generation_params[f"{name} Type"] = opt.label
                        pc.extra_generation_params[f"{name} Values"] = text
                grid_infotext[1 + iz] = processing.create_infotext(
                    pc, pc.all_prompts, pc.all_seeds, pc.all_subseeds)
            if ix == 0 and iy == 0 and iz == 0 and grid_infotext[0] is None:
                pc.extra_generation_params = copy(pc.extra_generation_params)
                if z_opt.label != "Nothing":
                    pc.extra_generation_params["Z Type"] = z_opt.label
                    pc.extra_generation_params["Z Values"] = z_values
                grid_infotext[0] = processing.create_infotext(
                    pc, pc.all_prompts, pc.all_seeds, pc.all_subseeds)
            return res

        processed = draw_xyz_grid(p, xs, ys, zs, cell, include_lone_images, include_sub_grids,
                                  first, second)
        if not processed.images:
            return processed
        z_count = len(zs)
        processed.infotexts[:1 + z_count] = grid_infotext[:1 + z_count]
        if not include_lone_images:
            processed.images = processed.images[:z_count + 1]
        if opts.grid_save:
            images.save_image(processed.images[0], p.outpath_grids, "xyz_grid",
                              info=processed.infotexts[0], extension=opts.grid_format,
                              prompt=processed.all_prompts[0], seed=processed.all_seeds[0],
                              grid=True, p=processed)
        if not include_sub_grids:
            for _ in range(z_count):
                del processed.images[1]
                del processed.all_prompts[1]
                del processed.all_seeds[1]
                del processed.infotexts[1]
        shared.total_tqdm.clear()  # (the progress bar stub)
        return processed
