"""Reading what a FacePop job needs from the running WebUI."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from lib_facepop.webui.generation import HostServices

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


def host_services() -> HostServices:
    """The WebUI modules and current options, read at the start of each job."""
    from modules import images, paths, processing, shared

    try:
        from modules import devices
    except ImportError:
        devices = None
    # Forge builds without devices.autocast
    autocast = getattr(devices, "autocast", None) or contextlib.nullcontext
    cmd_opts = shared.cmd_opts
    models_dir = getattr(cmd_opts, "facepop_models_dir", None) or os.path.join(
        paths.models_path, MODELS_SUBFOLDER)
    return HostServices(
        processing=processing,
        images=images,
        state=shared.state,
        background_colour=getattr(shared.opts, "img2img_background_color", "#ffffff"),
        samples_format=getattr(shared.opts, "samples_format", "png"),
        models_dir=models_dir,
        max_face_batch=int(getattr(cmd_opts, "facepop_face_batch", None)
                           or DEFAULT_MAX_FACE_BATCH),
        autocast=autocast,
        quiet_nested_pass=lambda: _without_prompt_history(cmd_opts),
        free_memory=getattr(devices, "torch_gc", None),
    )
