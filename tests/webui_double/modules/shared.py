"""Stands in for modules/shared.py (A1111 v1.10.1) once the WebUI has started: cmd_opts and
parser, opts, state, sd_model, prompt_styles, total_tqdm and a few constants.

sd_model is a stub of a loaded SD 1.5 checkpoint (name, hash, title, conditioning key;
nothing to run) and opts.sd_model_checkpoint names it. prompt_styles knows no styles
(the host ignores unknown style names too); total_tqdm does nothing; there are no
upscalers or face restorers.
"""

import sys
from types import SimpleNamespace

from modules import options, shared_cmd_options, shared_options, shared_state
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
face_restorers, sd_upscalers = [], []

OptionInfo, options_section = options.OptionInfo, options.options_section
opts = options.Options(shared_options.options_templates, shared_options.restricted_opts)
state = shared_state.State()

_checkpoint = SimpleNamespace(name="v1-5-pruned-emaonly.safetensors", shorthash="6ce0161689",
                              name_for_extra="v1-5-pruned-emaonly",
                              model_name="v1-5-pruned-emaonly")
_checkpoint.title = f"{_checkpoint.name} [{_checkpoint.shorthash}]"
checkpoint_aliases = {alias: _checkpoint for alias in (
    _checkpoint.title, _checkpoint.name, _checkpoint.name_for_extra, _checkpoint.shorthash)}
sd_model = SimpleNamespace(sd_checkpoint_info=_checkpoint, sd_model_hash=_checkpoint.shorthash,
                           cond_stage_key="crossattn", is_sdxl=False, is_sd1=True)
opts.data["sd_model_checkpoint"] = _checkpoint.title


class _NoStyles:
    """Styles are not imitated: prompts pass unchanged."""

    def apply_styles_to_prompt(self, prompt, styles):
        return prompt

    apply_negative_styles_to_prompt = apply_styles_to_prompt

    def extract_styles_from_prompt(self, prompt, negative_prompt):
        return [], prompt, negative_prompt


class _NoProgressBar:
    def _nothing(self, *args):
        return None

    reset = update = clear = _nothing
    updateTotal = _nothing  # noqa: N815 (the host's name)


prompt_styles, total_tqdm = _NoStyles(), _NoProgressBar()
