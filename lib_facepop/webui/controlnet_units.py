"""Which ControlNet units act in the main pass and in the face pass, and what they see.

A ControlNet unit conditions a whole pass on one picture. In the face pass that picture
must make sense for a face (docs/design.md section 6):

* Reference units (IP-Adapter, reference-only, revision, style/shuffle, InstantID's face
  embedding) carry a character: they keep their own image, so every face is guided by the
  same references as the main pass. A reference unit without an image of its own uses the
  main pass's input picture, as it does in the main pass. Which units are references:
  where the host lists its preprocessors (Forge, reForge: modules_forge.shared), the
  unit's preprocessor says it (its tags, and whether the host crops its picture like an
  inpaint region: a reference's picture is not pixel aligned); otherwise, and for
  preprocessors the host doesn't list, the unit's preprocessor and model names.
* Spatial units (canny, depth, openpose, lineart, tile, ...) map pixels to pixels: each
  face must see its own cut-out, cut exactly like the face (same padding, rotation and
  size). The unit's own image is cut at the face; without one ControlNet takes the pass's
  init image, which IS the face. Since a pass has one control picture per unit, faces
  then go one per pass.
* A unit's separate masks and canvas layers (A1111: ``mask``/``mask_image``; Forge: the
  drawn ``image_fg``, ``mask_image`` and ``mask_image_fg``) belong to its uncut picture:
  they are cut like the face too (a reference unit's region mask as well, which then also
  makes the faces go one per pass); one FacePop can't read is dropped.
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

# Parts of preprocessor (module) names whose unit guides by a reference picture, not pixel
# by pixel: sd-webui-controlnet's ("ip-adapter_clip_sd15", "instant_id_face_embedding",
# ...) and Forge's / reForge's ("CLIP-ViT-H (IPAdapter)", "InsightFace (InstantID)",
# "CLIP-G (Revision)", ...); docs/design.md section 6.
_REFERENCE_MODULES = ("ip-adapter", "ip_adapter", "ipadapter", "reference", "revision",
                      "t2ia_style", "shuffle", "instant_id_face_embedding", "(instantid)",
                      "clip_vision", "clipvision", "clip-vit", "clip-g")
# Models used with no preprocessor that are reference models all the same.
_REFERENCE_MODELS = ("ip-adapter", "ip_adapter", "ipadapter", "style", "shuffle", "revision")
# Tags of Forge's preprocessors (modules_forge.supported_preprocessor) for reference kinds.
_REFERENCE_TAGS = {"ip-adapter", "revision", "reference", "shuffle"}
# Canvas layers and masks that belong to a unit's picture (A1111's and Forge's fields).
_LAYERS = ("image_fg", "mask_image_fg", "mask_image", "mask")

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


def is_reference_unit(unit: Any, preprocessors: Mapping[str, Any] | None = None) -> bool:
    """Whether a unit guides by a reference picture. ``preprocessors``: the host's
    preprocessors by name (Forge's registry), asked first; else the names decide."""
    module_name = str(_field(unit, "module", "none") or "none")
    preprocessor = (preprocessors or {}).get(module_name)
    if preprocessor is not None and module_name.lower() != "none":
        return _is_reference_preprocessor(preprocessor)
    module = module_name.lower()
    if any(part in module for part in _REFERENCE_MODULES):
        return True
    model = str(_field(unit, "model", "") or "").lower()
    return module in ("none", "") and any(name in model for name in _REFERENCE_MODELS)


def _is_reference_preprocessor(preprocessor: Any) -> bool:
    """Forge's preprocessors say what they are: their tags, and whether Forge crops their
    picture like an "Only masked" inpaint region (pixel aligned: spatial) or not
    (IP-Adapter, Revision, reference-only, InstantID's face embedding)."""
    tags = {str(tag).lower() for tag in getattr(preprocessor, "tags", None) or ()}
    if tags & _REFERENCE_TAGS:
        return True
    return getattr(preprocessor, "corp_image_with_a1111_mask_when_in_img2img_inpaint_tab",
                   True) is False


def _is_reference_only(unit: Any) -> bool:
    """reference_only, reference_adain, reference_adain+attn (and their variants): the
    preprocessors that feed the reference's own attention into the pass's."""
    return str(_field(unit, "module", "") or "").lower().startswith("reference")


def _has_layers(unit: Any) -> bool:
    return any(_field(unit, name) is not None for name in _LAYERS)


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
    preprocessors: Mapping[str, Any] | None = None
    """The host's preprocessors by name, where it lists them (Forge), else None."""
    reference_attention_batches: bool = True
    """Whether the host's reference-only preprocessors work on a pass of several images
    (reForge's fail on any batch larger than one: docs/forge.md)."""

    @staticmethod
    def of(p: Any, face_only_setting: str,
           preprocessors: Mapping[str, Any] | None = None,
           reference_attention_batches: bool = True) -> ControlNetUnits | None:
        script = find_controlnet(getattr(p, "scripts", None))
        if script is None or script.args_from is None or script.args_to is None:
            return None
        return ControlNetUnits(script.args_from, script.args_to,
                               frozenset(parse_unit_numbers(face_only_setting)),
                               preprocessors, reference_attention_batches)

    def is_reference(self, unit: Any) -> bool:
        return is_reference_unit(unit, self.preprocessors)

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
        """Whether a spatial unit, or a unit with a mask or canvas layer, acts in the face
        pass (one control picture, one mask per pass); or a reference-only unit in a host
        whose reference-only works on one image at a time."""
        return any(not self.is_reference(unit) or _has_layers(unit)
                   or (not self.reference_attention_batches and _is_reference_only(unit))
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
            elif self.is_reference(unit):
                changes = {} if _field(unit, "image") is not None else {"image": main_picture}
                changes.update(_cut_layers(unit, main_picture.shape[:2], cut_like_the_face))
                if changes:
                    changed[i] = _with(unit, **changes)
            elif cut_like_the_face is not None:
                picture = unit_picture(unit)
                if picture is not None:
                    cut = cut_like_the_face(_to_size(picture, main_picture.shape[:2]))
                    changed[i] = _with(unit, image=cut, **_cut_layers(
                        unit, main_picture.shape[:2], cut_like_the_face))
        return self._replaced(script_args, changed) if changed else script_args


def _cut_layers(unit: Any, shape: tuple[int, int],
                cut_like_the_face: ImageCutter | None) -> dict[str, Any]:
    """A unit's masks and canvas layers cut like the face (stretched to the main pass's
    picture first, as its picture is); one FacePop can't read, or any without a cutter (a
    pass of several faces), is dropped: it belongs to the uncut picture."""
    changes: dict[str, Any] = {}
    for name in _LAYERS:
        layer = _field(unit, name)
        if layer is None:
            continue
        array = _layer_array(layer)
        if array is None or cut_like_the_face is None:
            changes[name] = None
        else:
            changes[name] = np.ascontiguousarray(cut_like_the_face(_to_size(array, shape)))
    return changes


def _layer_array(layer: Any) -> np.ndarray | None:
    """A mask or canvas layer as a uint8 array (grey, RGB or RGBA), or None."""
    if isinstance(layer, Image.Image):
        layer = np.asarray(layer)
    if isinstance(layer, np.ndarray) and layer.dtype == np.uint8 and (
            layer.ndim == 2 or (layer.ndim == 3 and layer.shape[2] in (1, 3, 4))):
        return layer
    return None


def _to_size(picture: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A control picture (or a mask, a canvas layer) stretched to the main pass's picture
    ("Just resize")."""
    height, width = shape
    if picture.shape[:2] == (height, width):
        return picture
    squeezed = picture[:, :, 0] if picture.ndim == 3 and picture.shape[2] == 1 else picture
    resized = np.asarray(Image.fromarray(squeezed).resize((width, height), Image.LANCZOS))
    return resized[:, :, None] if squeezed is not picture else resized
