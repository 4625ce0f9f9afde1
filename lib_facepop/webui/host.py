"""Reading what a FacePop job needs from the running WebUI."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from lib_facepop.notices import Notices
from lib_facepop.tools import FaceTools
from lib_facepop.webui.job import HostServices
from lib_facepop.webui.tools import face_tools, upscaler_names

DEFAULT_MAX_FACE_BATCH = 8
MODELS_SUBFOLDER = "facepop"


@contextlib.contextmanager
def _without_prompt_history(cmd_opts: object) -> Iterator[None]:
    """A nested process_images writes its own infotext to params.txt (what "paste" reads
    with an empty prompt); keep the user's job's there."""
    before = getattr(cmd_opts, "no_prompt_history", False)
    cmd_opts.no_prompt_history = True
    try:
        yield
    finally:
        cmd_opts.no_prompt_history = before


def _token_merging_of_the_job(p: object) -> None:
    """Put the job's token merging back on the model (a nested job's end turned it off)."""
    from modules import sd_models

    sd_models.apply_token_merging(p.sd_model, p.get_token_merging_ratio())


def _face_tools_of_the_host(notices: Notices) -> FaceTools:
    """The WebUI's face restorers and upscalers as they are now (no model is loaded)."""
    from modules import shared

    return face_tools(getattr(shared, "face_restorers", None) or (),
                      getattr(shared, "sd_upscalers", None) or (), notices)


def host_upscaler_names() -> list[str]:
    """The names the panel offers for small faces (cheap: reads the host's list only)."""
    from modules import shared

    return upscaler_names(getattr(shared, "sd_upscalers", None) or ())


def host_services() -> HostServices:
    """The WebUI modules and current options, read at the start of each job."""
    from modules import images, processing, shared

    try:
        from modules import devices
    except ImportError:
        devices = None
    # Forge builds without devices.autocast
    autocast = getattr(devices, "autocast", None) or contextlib.nullcontext
    cmd_opts = shared.cmd_opts
    return HostServices(
        processing=processing,
        images=images,
        state=shared.state,
        background_colour=getattr(shared.opts, "img2img_background_color", "#ffffff"),
        samples_format=getattr(shared.opts, "samples_format", "png"),
        models_dir=facepop_models_dir(),
        max_face_batch=int(getattr(cmd_opts, "facepop_face_batch", None)
                           or DEFAULT_MAX_FACE_BATCH),
        autocast=autocast,
        quiet_nested_pass=lambda: _without_prompt_history(cmd_opts),
        token_merging=_token_merging_of_the_job,
        free_memory=getattr(devices, "torch_gc", None),
        face_tools=_face_tools_of_the_host,
    )


def facepop_models_dir() -> str:
    """FacePop's models folder in this WebUI: --facepop-models-dir, else models/facepop."""
    from modules import paths, shared

    return getattr(shared.cmd_opts, "facepop_models_dir", None) or os.path.join(
        paths.models_path, MODELS_SUBFOLDER)
