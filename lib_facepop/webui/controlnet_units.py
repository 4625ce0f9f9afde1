"""Which ControlNet units act in the main pass and in the face pass, and what they see.

A ControlNet unit conditions a whole pass on one picture. In the face pass that picture
must make sense for a face (docs/design.md section 6):

* Reference units (IP-Adapter, reference-only, revision, style/shuffle, InstantID's face
  embedding) carry a character: they keep their own image, so every face is guided by the
  same references as the main pass. A reference unit without an image of its own uses the
  main pass's input picture, as it does in the main pass.
* Spatial units (canny, depth, openpose, lineart, tile, ...) map pixels to pixels: each
  face must see its own cut-out, cut exactly like the face (same padding, rotation and
  size). The unit's own image is cut at the face; without one ControlNet takes the pass's
  init image, which IS the face. Since a pass has one control picture per unit, faces
  then go one per pass.
* "ControlNet units only for faces" (``face_pass_controlnet_units``) names units that act
  only in the face pass; the others then act only in the main pass.

Units are read from the job's script args (ControlNetUnit objects from the UI, dicts from
the API) and never changed: the passes get modified copies.
"""

from __future__ import annotations

import base64
import copy
import io
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

# Preprocessors (modules) whose unit guides by a reference picture, not pixel by pixel.
_REFERENCE_MODULES = ("ip-adapter", "ip_adapter", "reference", "revision", "t2ia_style",
                      "shuffle", "instant_id_face_embedding", "clip_vision")
# Models used with no preprocessor that are reference models all the same.
_REFERENCE_MODELS = ("ip-adapter", "ip_adapter", "ipadapter", "style", "shuffle", "revision")

ImageCutter = Callable[[np.ndarray], np.ndarray]
"""Cuts a picture of the main pass's size out like one face (RGB uint8 in and out)."""


def parse_unit_numbers(text: str) -> set[int]:
    """The unit numbers of the face_pass_controlnet_units setting (already validated)."""
    return {int(part) for part in text.replace(" ", "").split(",") if part}


def is_controlnet(script: Any) -> bool:
    title = str(script.title() if callable(getattr(script, "title", None)) else "").lower()
    path = str(getattr(script, "filename", "") or "").replace("\\", "/").lower()
    return title == "controlnet" or path.endswith("/controlnet.py")


def find_controlnet(runner: Any) -> Any | None:
    """The ControlNet script of a script runner, or None."""
    for script in getattr(runner, "alwayson_scripts", None) or ():
        if is_controlnet(script):
            return script
    return None


def _field(unit: Any, name: str, default: Any = None) -> Any:
    if isinstance(unit, Mapping):
        return unit.get(name, default)
    return getattr(unit, name, default)


def _with(unit: Any, **changes: Any) -> Any:
    """A copy of a unit (object or dict) with some fields changed."""
    if isinstance(unit, Mapping):
        return {**unit, **changes}
    changed = copy.copy(unit)
    for name, value in changes.items():
        setattr(changed, name, value)
    return changed


def _is_unit(arg: Any) -> bool:
    return isinstance(arg, Mapping) or (hasattr(arg, "enabled") and hasattr(arg, "module"))


def is_reference_unit(unit: Any) -> bool:
    module = str(_field(unit, "module", "none") or "none").lower()
    if module.startswith(_REFERENCE_MODULES):
        return True
    model = str(_field(unit, "model", "") or "").lower()
    return module in ("none", "") and any(name in model for name in _REFERENCE_MODELS)


def unit_picture(unit: Any) -> np.ndarray | None:
    """The unit's own picture as RGB uint8, or None when it has none (or FacePop can't read
    it: then ControlNet gets it unchanged)."""
    image = _field(unit, "image")
    if isinstance(image, (list, tuple)) and image:
        image = image[0]
    if isinstance(image, Mapping):
        image = image.get("image")
    try:
        if isinstance(image, str):
            data = image.split(",", 1)[1] if image.startswith("data:") else image
            image = Image.open(io.BytesIO(base64.b64decode(data)))
        if isinstance(image, Image.Image):
            return np.asarray(image.convert("RGB"))
        if isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] in (3, 4):
            return np.ascontiguousarray(image[:, :, :3].astype(np.uint8))
    except (ValueError, OSError) as exc:
        log.warning("FacePop: can't read a ControlNet unit's image (%s); the face pass "
                    "gets it as it is", exc)
    return None


@dataclass(frozen=True)
class ControlNetUnits:
    """The ControlNet units of one job and how each pass gets them."""

    args_from: int
    args_to: int
    face_only: frozenset[int]

    @staticmethod
    def of(p: Any, face_only_setting: str) -> ControlNetUnits | None:
        script = find_controlnet(getattr(p, "scripts", None))
        if script is None or script.args_from is None or script.args_to is None:
            return None
        return ControlNetUnits(script.args_from, script.args_to,
                               frozenset(parse_unit_numbers(face_only_setting)))

    def _units(self, script_args: Sequence[Any]) -> list[tuple[int, Any]]:
        return [(i, arg) for i, arg in enumerate(script_args[self.args_from:self.args_to])
                if _is_unit(arg)]

    def _replaced(self, script_args: Sequence[Any], units: dict[int, Any]) -> Any:
        own = list(script_args[self.args_from:self.args_to])
        for i, unit in units.items():
            own[i] = unit
        args = [*script_args[:self.args_from], *own, *script_args[self.args_to:]]
        return tuple(args) if isinstance(script_args, tuple) else args

    def _enabled_in_face_pass(self, script_args: Sequence[Any]) -> list[tuple[int, Any]]:
        return [(i, unit) for i, unit in self._units(script_args)
                if _field(unit, "enabled", False)
                and (not self.face_only or i in self.face_only)]

    def main_pass_args(self, script_args: Sequence[Any]) -> Any:
        """The script args with the face-only units off (the same args when there are none)."""
        off = {i: _with(unit, enabled=False) for i, unit in self._units(script_args)
               if i in self.face_only and _field(unit, "enabled", False)}
        return self._replaced(script_args, off) if off else script_args

    def faces_one_per_pass(self, script_args: Sequence[Any]) -> bool:
        """Whether a spatial unit acts in the face pass (one control picture per pass)."""
        return any(not is_reference_unit(unit)
                   for _, unit in self._enabled_in_face_pass(script_args))

    def face_pass_args(self, script_args: Sequence[Any], main_picture: np.ndarray,
                       cut_like_the_face: ImageCutter | None) -> Any:
        """The script args of a face pass: units for the main pass only are off; reference
        units keep their own image or get the main pass's picture; spatial units get their
        own image cut like the face (``cut_like_the_face``; None for a pass of several
        faces, where their image is left as it is)."""
        changed: dict[int, Any] = {}
        for i, unit in self._units(script_args):
            if not _field(unit, "enabled", False):
                continue
            if self.face_only and i not in self.face_only:
                changed[i] = _with(unit, enabled=False)
            elif is_reference_unit(unit):
                if _field(unit, "image") is None:
                    changed[i] = _with(unit, image=main_picture)
            elif cut_like_the_face is not None:
                picture = unit_picture(unit)
                if picture is not None:
                    cut = cut_like_the_face(_to_size(picture, main_picture.shape[:2]))
                    changed[i] = _with(unit, image=cut, **_no_mask(unit))
        return self._replaced(script_args, changed) if changed else script_args


def _no_mask(unit: Any) -> dict[str, None]:
    """Changes that drop a unit's separate mask (it belongs to the uncut picture)."""
    names = ("mask", "mask_image")
    if isinstance(unit, Mapping):
        return {name: None for name in names if unit.get(name) is not None}
    return {name: None for name in names if getattr(unit, name, None) is not None}


def _to_size(picture: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A control picture stretched to the main pass's picture ("Just resize")."""
    height, width = shape
    if picture.shape[:2] == (height, width):
        return picture
    return np.asarray(Image.fromarray(picture).resize((width, height), Image.LANCZOS))
