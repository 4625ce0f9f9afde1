"""Setting the user's job's stateful scripts aside while a face pass runs.

A face pass is a job of its own inside the user's job, and the always-on scripts allowed
in it run their hooks on the very Script objects the user's job uses (docs/design.md
section 4, item 7). What has to be set aside depends on where a script keeps its state:

* A1111: ControlNet hooks the UNet in `process` for the job's size and units and undoes it
  in `postprocess`, keeping the hook on its Script object. With the user's hook still on,
  a face pass would run on a UNet hooked for another size (and crash), and ControlNet's
  own lifecycle in the face pass would undo the user's hook and forget its units and
  detected maps. So around its face passes FacePop closes these scripts' job with their
  own `postprocess` (its result is thrown away) and opens it again with their own
  `process`, which reads the units from the job's script args again: the face pass starts
  on a clean UNet, and the main pass of every batch gets ControlNet back intact.
* Forge (and reForge): every sampling patches a fresh copy of the model objects
  (`process_before_every_sampling`), so nothing stays hooked on the UNet; a script keeps
  only its own state, made in `process` (ControlNet: the preprocessed units,
  `current_params`, whose maps it adds to the job's outputs). Closing and opening it again
  would run its preprocessors again and add its maps again, batch after batch (docs/
  design.md section 4a). So FacePop keeps a copy of each always-on script's attributes
  and puts them back after the face pass: the face pass's own `process`/`postprocess`
  replace, never change, what the user's job made.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lib_facepop.webui.controlnet_units import is_controlnet

log = logging.getLogger(__name__)


@dataclass
class _DiscardedResult:
    """What a set-aside script's postprocess gets instead of the job's result."""

    images: list = field(default_factory=list)
    infotexts: list = field(default_factory=list)
    extra_generation_params: dict = field(default_factory=dict)
    extra_images: list = field(default_factory=list)


def stateful_scripts(runner: Any) -> list[Any]:
    """The always-on scripts of a runner that keep a job's state on the model (A1111)."""
    return [script for script in getattr(runner, "alwayson_scripts", None) or ()
            if is_controlnet(script)]


@contextlib.contextmanager
def set_aside(p: Any, unet_patched_per_sampling: bool = False) -> Iterator[None]:
    """Around a face pass: the job's scripts as they were afterwards (even on failure).
    A script that fails to close or open is logged; the job goes on, as the host would."""
    if unet_patched_per_sampling:
        with _attributes_kept(getattr(getattr(p, "scripts", None), "alwayson_scripts", None)
                              or ()):
            yield
        return
    scripts = stateful_scripts(getattr(p, "scripts", None))
    closed = [script for script in scripts if _close(script, p)]
    try:
        yield
    finally:
        for script in closed:
            _call(script, "process", p)


def hook_main_pass_again(p: Any, unet_patched_per_sampling: bool = False) -> None:
    """ControlNet takes the job's (changed) script args again for the main pass: closed
    and opened again (A1111), or its `process` run again (Forge: its per-sampling patches
    read what `process` made), keeping only the detected maps of its first run."""
    scripts = stateful_scripts(getattr(p, "scripts", None))
    if not unet_patched_per_sampling:
        for script in scripts:
            if _close(script, p):
                _call(script, "process", p)
        return
    extra = getattr(p, "extra_result_images", None)
    shown = len(extra) if isinstance(extra, list) else None
    for script in scripts:
        _call(script, "process", p)
    if shown is not None:
        del extra[shown:]


def _close(script: Any, p: Any) -> bool:
    return _call(script, "postprocess", p, _DiscardedResult(
        extra_generation_params=dict(p.extra_generation_params)))


@contextlib.contextmanager
def _attributes_kept(scripts: Any) -> Iterator[None]:
    kept = [(script, dict(vars(script))) for script in scripts if hasattr(script, "__dict__")]
    try:
        yield
    finally:
        for script, attributes in kept:
            vars(script).clear()
            vars(script).update(attributes)


def _call(script: Any, hook: str, p: Any, *leading: Any) -> bool:
    own = p.script_args[script.args_from:script.args_to]
    try:
        getattr(script, hook)(p, *leading, *own)
    except Exception:
        log.exception("FacePop: %s's %s failed while FacePop set it aside for a face pass",
                      script.title(), hook)
        return False
    return True
