"""FacePop settings as axes of the WebUI's built-in X/Y/Z plot script, in both tabs.

How the host's X/Y/Z plot works (docs/design.md section 4, fact 14): its module (loaded
from the WebUI's scripts/ folder before any extension's scripts, not importable by name)
keeps a list ``axis_options``; its ``ui()`` copies the axes present at that moment, so
FacePop adds its axes when its own script file is imported and again from
``on_before_ui`` (``--nowebui`` makes the UI before that callback), never twice. Each cell
of a grid is a SHALLOW copy of the job ``p``; an axis's ``apply`` sets the cell's value on
that copy only: a new dict of overrides under ``OVERRIDES_ATTR``, and a dict of infotext
entries of the cell's own, so that nothing one cell sets reaches another cell or a later
job. ``apply_xyz_overrides`` puts the overrides into the settings FacePop reads for the
job.

A face-pass axis (face steps, CFG scale, denoising strength, prompt) turns "Separate face
processing" on for its cells; where the panel had it off, the face pass keeps the main
job's steps, CFG scale, denoising strength and prompts for the values the axis doesn't set.
Values are checked by the settings model before the first cell runs, with a message
naming the axis and the setting. The axes themselves are plain data in
``lib_facepop/xyz_axes.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from lib_facepop.errors import SettingsError
from lib_facepop.settings import SEPARATE_PROCESSING_SETTINGS, FacePopSettings, Value
from lib_facepop.webui.host import host_upscaler_names
from lib_facepop.xyz_axes import AXES, FacePopAxis

log = logging.getLogger(__name__)

OVERRIDES_ATTR = "facepop_xyz_overrides"
"""Attribute of one X/Y/Z cell's job: {setting name: value} set by FacePop's axes."""
XYZ_MODULE_NAMES = ("xyz_grid.py", "scripts.xyz_grid")
"""What the host names the X/Y/Z plot's module (loaded from its file, or imported)."""


def _choices(axis: FacePopAxis) -> Callable[[], list[str]] | None:
    """What the X/Y/Z plot offers as the axis's values (None: typed values)."""
    own = axis.own_choices()
    if own is not None:
        return lambda: list(own)
    if axis.offers_host_upscalers:
        return lambda: host_upscaler_names()  # read from the WebUI when the plot asks
    return None


# --- values ---------------------------------------------------------------------------------

def axis_value(axis: FacePopAxis, value: Any) -> Value:
    """The setting's value for one value of the axis, checked by the settings model.

    Raises ValueError naming the axis and the setting."""
    if axis.kind is bool and isinstance(value, str):
        lowered = value.strip().lower()
        value = {"true": True, "false": False}.get(lowered, value)
    try:
        settings = FacePopSettings(**{name: value for name in axis.settings})
    except SettingsError as exc:
        raise ValueError(f"X/Y/Z plot: {axis.label}: {exc}") from None
    return getattr(settings, axis.settings[0])


def set_overrides(p: Any, changes: dict[str, Value]) -> None:
    """Put FacePop settings on one cell's job, touching no object it shares with others."""
    earlier = getattr(p, OVERRIDES_ATTR, None) or {}
    setattr(p, OVERRIDES_ATTR, {**earlier, **changes})
    # The cell's infotext entries in a dict of its own (the cell shares p's otherwise).
    p.extra_generation_params = dict(p.extra_generation_params or {})


def apply_xyz_overrides(p: Any, settings: FacePopSettings) -> FacePopSettings:
    """The job's settings with the values its X/Y/Z cell sets (unchanged outside a grid)."""
    overrides = getattr(p, OVERRIDES_ATTR, None)
    if not overrides:
        return settings
    changes = dict(overrides)
    if not settings.separate_face_processing and any(
            n in changes for n in SEPARATE_PROCESSING_SETTINGS):
        changes = {**_main_job_face_values(p, settings), **changes,
                   "separate_face_processing": True}
    return settings.replace(**changes)


def _main_job_face_values(p: Any, settings: FacePopSettings) -> dict[str, Value]:
    """What the face pass takes from the main job while separate face processing is off,
    as face-pass settings (a value the settings don't accept keeps the panel's). A
    txt2img job's denoising strength is its hires fix's: its face pass keeps the face
    denoising strength setting."""
    inherited: dict[str, Value] = {"face_prompt": "", "face_negative_prompt": ""}
    taken = [("face_steps", getattr(p, "steps", None)),
             ("face_cfg_scale", getattr(p, "cfg_scale", None))]
    if hasattr(p, "init_images"):
        taken.append(("face_denoising_strength", getattr(p, "denoising_strength", None)))
    for name, value in taken:
        try:
            settings.replace(**{name: value})
        except SettingsError:
            continue
        inherited[name] = value
    return inherited


# --- axes for the host's X/Y/Z plot ----------------------------------------------------------

def find_xyz_module(scripts_data: Iterable[Any]) -> Any | None:
    """The X/Y/Z plot's module among the loaded scripts (``modules.scripts.scripts_data``)."""
    for data in scripts_data:
        if getattr(data.script_class, "__module__", None) in XYZ_MODULE_NAMES:
            return data.module
    return None


def register_axes(xyz: Any) -> int:
    """Add FacePop's axes to the X/Y/Z plot module ``xyz`` (those not there yet); returns
    how many were added."""
    present = {getattr(option, "label", None) for option in xyz.axis_options}
    added = [_axis_option(xyz, axis) for axis in AXES if axis.label not in present]
    xyz.axis_options.extend(added)
    return len(added)


def register_with_loaded_xyz(scripts_data: Iterable[Any]) -> None:
    """Register the axes if the X/Y/Z plot is loaded; never raises (a failure here must not
    keep FacePop's script from loading)."""
    try:
        xyz = find_xyz_module(scripts_data)
        if xyz is None:
            log.debug("FacePop: no X/Y/Z plot script loaded; no axes added")
            return
        register_axes(xyz)
    except Exception:
        log.exception("FacePop: could not add its axes to the X/Y/Z plot")


def _axis_option(xyz: Any, axis: FacePopAxis) -> Any:
    kind = axis.kind
    return xyz.AxisOption(  # both tabs: FacePop works in txt2img and img2img
        axis.label, str if kind is bool else kind, _applier(axis),
        confirm=_confirmer(axis), choices=_choices(axis),
        prepare=_preparer(xyz, axis) if kind in (int, float) else None)


def _applier(axis: FacePopAxis) -> Callable[[Any, Any, Sequence[Any]], None]:
    def apply(p: Any, x: Any, xs: Sequence[Any]) -> None:
        value = axis_value(axis, x)
        set_overrides(p, {name: value for name in axis.settings})

    return apply


def _confirmer(axis: FacePopAxis) -> Callable[[Any, Sequence[Any]], None]:
    def confirm(p: Any, xs: Sequence[Any]) -> None:
        for x in xs:
            axis_value(axis, x)

    return confirm


def _preparer(xyz: Any, axis: FacePopAxis) -> Callable[[str], list[str]]:
    """Splits the axis text as the host does, refusing (with the axis named) an item that
    is neither a number nor one of the host's range forms, before the host converts it."""
    ranges = [getattr(xyz, name, None) for name in (
        ("re_range", "re_range_count") if axis.kind is int
        else ("re_range_float", "re_range_count_float"))]

    def prepare(text: str) -> list[str]:
        items = xyz.csv_string_to_list_strip(text)
        for item in items:
            if not item.strip() or _is_number(item, axis.kind) or any(
                    pattern is not None and pattern.fullmatch(item) for pattern in ranges):
                continue
            kind = "whole number" if axis.kind is int else "number"
            raise ValueError(f"X/Y/Z plot: {axis.label}: {item!r} is not a {kind} or a range "
                             f"(like 1-5, 1-9 (+2) or 1-9 [5])")
        return items

    return prepare


def _is_number(text: str, kind: type) -> bool:
    try:
        kind(text)
    except ValueError:
        return False
    return True
