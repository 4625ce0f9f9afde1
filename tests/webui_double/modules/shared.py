"""Stands in for modules/shared.py (A1111 v1.10.1) once the WebUI has started: cmd_opts and
parser, opts, state, sd_model, prompt_styles, total_tqdm and a few constants.

sd_model is a stub of a loaded SD 1.5 checkpoint (name, hash, title, conditioning key,
the token merging ratio applied to it) and opts.sd_model_checkpoint names it. Its UNet,
sd_model.model.diffusion_model, is a UNetModel whose forward() the painter calls once per
sampled batch: the class's forward returns the batch unchanged, and a script may hook it by
setting an instance attribute `forward`, as ControlNet does to the real UNet.
prompt_styles knows no styles (the host ignores unknown style names too); total_tqdm does
nothing. As after the host's start-up: face_restorers holds the CodeFormer and GFPGAN
restorers (codeformer_model.py, gfpgan_model.py: stand-ins with recognisable effects), in
the order the host sets them up; sd_upscalers is what modelloader.load_upscalers() makes:
the built-in "None", "Lanczos" and "Nearest", then "R-ESRGAN 4x+" (a stand-in model
upscaler, realesrgan_model.py). walk_files() and listfiles() are the host's
(modules/util.py) folder listings, in natural sort order.
Forge flavour: sd_model also has Forge's forge_objects_original,
forge_objects_after_applying_lora and forge_objects (backend/diffusion_engine/base.py, each
holding a backend/patcher/unet.py UnetPatcher), use_distilled_cfg_scale (False: set it for
a Flux model), and prompt_styles strips `#` comments as Forge's styles do.
"""

import os
import re
import sys
from types import SimpleNamespace

from modules import options, shared_cmd_options, shared_options, shared_state
from modules.double_flavour import FORGE
from modules.paths_internal import (  # noqa: F401 (re-exported, as in the host)
    data_path,
    extensions_builtin_dir,
    extensions_dir,
    models_path,
    script_path,
)

cmd_opts, parser = shared_cmd_options.cmd_opts, shared_cmd_options.parser
hide_dirs = {"visible": not shared_cmd_options.cmd_opts.hide_ui_dir_config}
device, demo, progress_print_out = "cpu", None, sys.stdout
face_restorers = []

OptionInfo, options_section = options.OptionInfo, options.options_section
opts = options.Options(shared_options.options_templates, shared_options.restricted_opts)
state = shared_state.State()

_checkpoint = SimpleNamespace(name="v1-5-pruned-emaonly.safetensors", shorthash="6ce0161689",
                              name_for_extra="v1-5-pruned-emaonly",
                              model_name="v1-5-pruned-emaonly")
_checkpoint.title = f"{_checkpoint.name} [{_checkpoint.shorthash}]"
checkpoint_aliases = {alias: _checkpoint for alias in (
    _checkpoint.title, _checkpoint.name, _checkpoint.name_for_extra, _checkpoint.shorthash)}


class UNetModel:
    """The UNet: forward(x) gets a sampled batch (B, H, W, 3 floats 0..255), returns it."""

    def forward(self, x):
        return x


sd_model = SimpleNamespace(sd_checkpoint_info=_checkpoint, sd_model_hash=_checkpoint.shorthash,
                           cond_stage_key="crossattn", is_sdxl=False, is_sd1=True,
                           applied_token_merged_ratio=0,
                           model=SimpleNamespace(diffusion_model=UNetModel()))
opts.data["sd_model_checkpoint"] = _checkpoint.title

if FORGE:  # Forge's engine: the model objects scripts patch, and the family's fields
    from backend.diffusion_engine.base import ForgeObjects, default_vae
    from backend.patcher.unet import UnetPatcher

    sd_model.forge_objects_original = ForgeObjects(UnetPatcher(), vae=default_vae())
    sd_model.forge_objects_after_applying_lora = sd_model.forge_objects_original.shallow_copy()
    sd_model.forge_objects = sd_model.forge_objects_original.shallow_copy()
    sd_model.use_distilled_cfg_scale = False  # True for Flux (set it in a test)
    sd_model.is_sd2 = sd_model.is_sd3 = False


class _NoStyles:
    """Styles are not imitated: prompts pass unchanged. Forge: applying styles strips the
    prompt's `#` comments (with opts.enable_prompt_comments) and surrounding blanks, as
    Forge's modules/styles.py does; Forge has no Comments script."""

    def apply_styles_to_prompt(self, prompt, styles):
        if not FORGE:
            return prompt
        from modules.processing_scripts.comments import strip_comments

        return strip_comments(prompt).strip()

    apply_negative_styles_to_prompt = apply_styles_to_prompt

    def extract_styles_from_prompt(self, prompt, negative_prompt):
        return [], prompt, negative_prompt


class _NoProgressBar:
    def _nothing(self, *args):
        return None

    reset = update = clear = _nothing
    updateTotal = _nothing  # noqa: N815 (the host's name)


prompt_styles, total_tqdm = _NoStyles(), _NoProgressBar()


def _natural_key(text):
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


def listfiles(dirname):
    """The files (not folders, not hidden) directly in `dirname`, naturally sorted."""
    names = sorted((n for n in os.listdir(dirname) if not n.startswith(".")), key=_natural_key)
    return [os.path.join(dirname, n) for n in names if os.path.isfile(os.path.join(dirname, n))]


def walk_files(path, allowed_extensions=None):
    """Every file under `path` (links followed; files in hidden folders only with
    opts.list_hidden_files, the default), folders and files in natural order, optionally
    only those whose lower-case extension is allowed."""
    if not os.path.exists(path):
        return
    allowed = set(allowed_extensions) if allowed_extensions is not None else None
    for root, _, files in sorted(os.walk(path, followlinks=True),
                                 key=lambda entry: _natural_key(entry[0])):
        for name in sorted(files, key=_natural_key):
            if allowed is not None and os.path.splitext(name)[1].lower() not in allowed:
                continue
            if not opts.list_hidden_files and ("/." in root or "\\." in root):
                continue
            yield os.path.join(root, name)



# As the host's start-up does it (initialize.py), once this module's names exist: the
# restorers in that order, then the upscalers.
sd_upscalers = []
from modules import codeformer_model, gfpgan_model, modelloader  # noqa: E402

codeformer_model.setup_model(os.path.join(models_path, "Codeformer"))
gfpgan_model.setup_model(os.path.join(models_path, "GFPGAN"))
modelloader.load_upscalers()
