"""Reading what a FacePop job needs from the running WebUI."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator, Mapping
from typing import Any

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


def _leave_token_merging(p: object) -> None:
    """Forge: nothing to put back (each sampling patches its own copy of the model)."""


def _forge_registry() -> Any | None:
    """Forge's (and reForge's) modules_forge.shared, or None in A1111."""
    try:
        return importlib.import_module("modules_forge.shared")
    except ImportError:
        return None


def unet_patched_per_sampling(sd_model: object) -> bool:
    """Whether the host patches a fresh copy of the model objects for every sampling
    (Forge's engine: forge_objects made from forge_objects_original per batch)."""
    return hasattr(sd_model, "forge_objects_original")


def controlnet_preprocessors() -> Mapping[str, Any] | None:
    """The host's ControlNet preprocessors by name (Forge's registry), or None."""
    registry = _forge_registry()
    found = getattr(registry, "supported_preprocessors", None)
    return found if isinstance(found, Mapping) else None


def reference_attention_batches() -> bool:
    """Whether the host's reference-only preprocessors work on a pass of several images.
    Not in reForge (its engine is ``ldm_patched``): there they fail on any batch larger
    than one and the pass goes on without the reference (docs/forge.md)."""
    return "ldm_patched" not in sys.modules


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
    per_sampling = unet_patched_per_sampling(getattr(shared, "sd_model", None))
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
        token_merging=_leave_token_merging if per_sampling else _token_merging_of_the_job,
        free_memory=getattr(devices, "torch_gc", None),
        face_tools=_face_tools_of_the_host,
        unet_patched_per_sampling=per_sampling,
        controlnet_preprocessors=controlnet_preprocessors(),
        reference_attention_batches=reference_attention_batches(),
    )


def facepop_models_dir() -> str:
    """FacePop's models folder in this WebUI: --facepop-models-dir, else models/facepop."""
    from modules import paths, shared

    return getattr(shared.cmd_opts, "facepop_models_dir", None) or os.path.join(
        paths.models_path, MODELS_SUBFOLDER)
