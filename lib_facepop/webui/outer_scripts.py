"""Setting the user's job's stateful scripts aside while a face pass runs.

Some always-on scripts hold per-job state outside their arguments: ControlNet hooks the
UNet in `process` for the job's size and units and undoes it in `postprocess`, keeping the
hook on its shared Script object (docs/design.md section 4, item 7). A face pass is a job
of its own inside the user's job: with the user's hook still on, it would run on a UNet
hooked for another size (and crash), and if ControlNet runs in the face pass too, its own
lifecycle would undo the user's job's hook and forget its units and detected maps.

So around its face passes FacePop closes these scripts' job with their own `postprocess`
(its result is thrown away) and opens it again with their own `process`, which reads the
units from the job's script args again: the face pass starts on a clean UNet, and the main
pass of every batch gets ControlNet back with its units intact.
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


def stateful_scripts(runner: Any) -> list[Any]:
    """The always-on scripts of a runner that keep a job's state on the model."""
    return [script for script in getattr(runner, "alwayson_scripts", None) or ()
            if is_controlnet(script)]


@contextlib.contextmanager
def set_aside(p: Any) -> Iterator[None]:
    """Close the job's stateful scripts, and open them again afterwards (even on failure).
    A script that fails to close or open is logged; the job goes on, as the host would."""
    scripts = stateful_scripts(getattr(p, "scripts", None))
    closed = []
    for script in scripts:
        if _call(script, "postprocess", p, _DiscardedResult(
                extra_generation_params=dict(p.extra_generation_params))):
            closed.append(script)
    try:
        yield
    finally:
        for script in closed:
            _call(script, "process", p)


def _call(script: Any, hook: str, p: Any, *leading: Any) -> bool:
    own = p.script_args[script.args_from:script.args_to]
    try:
        getattr(script, hook)(p, *leading, *own)
    except Exception:
        log.exception("FacePop: %s's %s failed while FacePop set it aside for a face pass",
                      script.title(), hook)
        return False
    return True
