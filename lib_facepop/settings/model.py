"""Every FacePop option in one typed model (``FacePopSettings``).

This module is the single source of truth for each option's default, range, label, help
text and group. The WebUI panel is built from it in field order, the positional API args
follow that same order, the JSON schema (schema.py) is generated from it, and infotext
(PNG info) keys (infotext.py) are derived from it. Add an option here and every surface
picks it up. Each value is coerced and checked by validation.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lib_facepop.errors import SettingsError
from lib_facepop.settings.spec import OptionSpec, Value
from lib_facepop.settings.validation import check_range, coerce, unknown_key_message

GROUP_BASICS = "basics"
GROUP_FACE_PASS = "face pass"
GROUP_ADVANCED = "advanced"
GROUP_DEBUGGING = "debugging"
GROUP_RESTORE = "restore & colour"
GROUP_EYES = "eyes"
GROUPS = (GROUP_BASICS, GROUP_FACE_PASS, GROUP_ADVANCED, GROUP_DEBUGGING, GROUP_RESTORE,
          GROUP_EYES)

# Choices: value (what the API, the infotext and the command line take) -> label (what the
# panel shows).
MASK_SOURCE_LABELS = {
    "auto": "Auto (MODNet if installed, else selfie)",
    "modnet": "MODNet matte",
    "selfie": "Selfie segmentation",
    "ellipse": "Ellipse",
}
FACE_ORDER_LABELS = {
    "largest": "Largest first",
    "left_to_right": "Left to right",
    "confidence": "Most confident first",
}
SEED_MODE_LABELS = {
    "increment": "Image seed + face index",
    "same": "Image seed for every face",
    "random": "Random",
}
FACE_RESTORATION_LABELS = {
    "none": "None",
    "codeformer": "CodeFormer",
    "gfpgan": "GFPGAN",
}
ENHANCE_FILTER_LABELS = {
    "none": "None",
    "unsharp_mask": "Unsharp mask (sharpen)",
    "bilateral": "Bilateral (smooth, keep edges)",
    "median": "Median (remove noise)",
}
# Upscalers FacePop has itself; any other name is one of the host's upscalers.
DEFAULT_UPSCALER = "Lanczos"
DEFAULT_EYES_PROMPT = "detailed eyes, clear iris, clear pupil, sharp focus"
MASK_SOURCES = tuple(MASK_SOURCE_LABELS)
FACE_ORDERS = tuple(FACE_ORDER_LABELS)
FACE_RESTORERS = tuple(FACE_RESTORATION_LABELS)
ENHANCE_FILTERS = tuple(ENHANCE_FILTER_LABELS)
SEED_MODES = tuple(SEED_MODE_LABELS)

SEPARATE_PROCESSING_SETTINGS = ("face_steps", "face_cfg_scale", "face_distilled_cfg_scale",
                                "face_denoising_strength",
                                "face_prompt", "face_negative_prompt")
"""The settings that act only with ``separate_face_processing`` on (else the face pass takes
the main job's values)."""


def _option(
    default: Value,
    label: str,
    help: str,
    group: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    step: float | None = None,
    choices: Mapping[str, str] | None = None,
    multiline: bool = False,
    pattern: tuple[str, str] | None = None,
) -> Any:
    metadata = {
        "label": label,
        "help": help,
        "group": group,
        "minimum": minimum,
        "maximum": maximum,
        "step": step,
        "choices": tuple(choices) if choices is not None else None,
        "choice_labels": tuple(choices.values()) if choices is not None else None,
        "multiline": multiline,
        "pattern": pattern[0] if pattern else None,
        "pattern_meaning": pattern[1] if pattern else None,
    }
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class FacePopSettings:
    """All options, in the order the panel shows them and the positional API expects them."""

    # --- basics ---------------------------------------------------------------------------
    enabled: bool = _option(
        False, "Enable FacePop",
        "Find every face, process it on its own at full size, and blend it back.",
        GROUP_BASICS)
    mask_source: str = _option(
        "auto", "Face mask",
        "Where each face's blending mask comes from. MODNet follows the real outline of "
        "face and hair, but needs its model file; Auto uses MODNet when that file is "
        "installed and selfie segmentation otherwise. A source that can't be had falls "
        "back to the next one (MODNet, selfie, ellipse).",
        GROUP_BASICS, choices=MASK_SOURCE_LABELS)
    aggressive_detection: bool = _option(
        True, "Aggressive detection",
        "Also search several scales, tiles and rotations, so that small, tilted and "
        "upside-down faces are found. Slower than a single pass.",
        GROUP_BASICS)
    face_width: int = _option(
        720, "Face width",
        "Width in pixels each face is resized to for its own pass.",
        GROUP_BASICS, minimum=64, maximum=2048, step=8)
    face_height: int = _option(
        720, "Face height",
        "Height in pixels each face is resized to for its own pass.",
        GROUP_BASICS, minimum=64, maximum=2048, step=8)
    padding: float = _option(
        35.0, "Padding %",
        "Context added around the face box on each side, in percent of the box. Hair and "
        "neck in the padding help the face blend back.",
        GROUP_BASICS, minimum=0.0, maximum=100.0, step=1.0)
    keep_aspect_ratio: bool = _option(
        True, "Keep aspect ratio",
        "Grow the crop to the face size's aspect ratio instead of stretching the face.",
        GROUP_BASICS)
    confidence: float = _option(
        0.5, "Detection confidence",
        "Faces the detector is less sure of than this are ignored.",
        GROUP_BASICS, minimum=0.05, maximum=1.0, step=0.01)
    max_faces: int = _option(
        5, "Maximum faces",
        "Process at most this many faces per image (0 = all), in the chosen order.",
        GROUP_BASICS, minimum=0, maximum=100, step=1)
    min_face_size: int = _option(
        24, "Minimum face size",
        "Ignore faces smaller than this, in pixels of the source image (0 = no limit).",
        GROUP_BASICS, minimum=0, maximum=1024, step=1)
    face_order: str = _option(
        "largest", "Face order",
        "Which faces come first when there are more than the maximum: the largest, left to "
        "right, or the most confident.",
        GROUP_BASICS, choices=FACE_ORDER_LABELS)

    # --- face pass ------------------------------------------------------------------------
    separate_face_processing: bool = _option(
        False, "Separate face processing",
        "Use the steps, CFG scale, denoising strength and prompts below for the face pass "
        "instead of the main ones.",
        GROUP_FACE_PASS)
    face_steps: int = _option(
        40, "Face steps", "Sampling steps of the face pass.",
        GROUP_FACE_PASS, minimum=1, maximum=150, step=1)
    face_cfg_scale: float = _option(
        7.0, "Face CFG scale", "CFG scale of the face pass.",
        GROUP_FACE_PASS, minimum=1.0, maximum=30.0, step=0.5)
    face_denoising_strength: float = _option(
        0.4, "Face denoising strength",
        "How much the face pass may change each face (0 = nothing, 1 = everything).",
        GROUP_FACE_PASS, minimum=0.0, maximum=1.0, step=0.01)
    face_prompt: str = _option(
        "", "Face prompt",
        "Prompt of the face pass; blank = the main prompt. Give faces their own prompts by "
        "separating them with [SEP] (in face order); the last one serves the rest.",
        GROUP_FACE_PASS, multiline=True)
    face_negative_prompt: str = _option(
        "", "Face negative prompt",
        "Negative prompt of the face pass; blank = the main negative prompt. [SEP] works "
        "as in the face prompt.",
        GROUP_FACE_PASS, multiline=True)
    face_seed_mode: str = _option(
        "increment", "Face seeds",
        "Seed of each face: the image's seed plus the face's index (like a batch), the "
        "image's seed for every face, or a random seed.",
        GROUP_FACE_PASS, choices=SEED_MODE_LABELS)

    # --- advanced -------------------------------------------------------------------------
    auto_align: bool = _option(
        True, "Auto-align faces",
        "Rotate each face upright (from its eye line) before its pass and back afterwards.",
        GROUP_ADVANCED)
    rotation_threshold: float = _option(
        5.0, "Rotation threshold",
        "Faces tilted less than this many degrees are not rotated.",
        GROUP_ADVANCED, minimum=0.0, maximum=90.0, step=0.5)
    mask_feather: float = _option(
        50.0, "Mask feather %",
        "Width of the mask's soft edge, in percent of the padding around the face.",
        GROUP_ADVANCED, minimum=0.0, maximum=100.0, step=1.0)
    remove_background: bool = _option(
        False, "Remove background in face pass",
        "Replace the crop's background with a neutral fill before the face pass, so the "
        "model spends itself on the face. Only the person is pasted back.",
        GROUP_ADVANCED)
    face_pass_scripts: str = _option(
        "controlnet, integrated", "Scripts in the face pass",
        "Comma-separated names of always-on scripts that also run in the face pass (e.g. "
        "ControlNet with IP-Adapter). \"integrated\" names Forge's built-in \"... "
        "Integrated\" scripts (FreeU, SAG, PAG, Dynamic Thresholding, Latent Modifier, "
        "StyleAlign ...), so faces get what the body got. Other face detailers should "
        "stay off.",
        GROUP_ADVANCED)
    face_pass_controlnet_units: str = _option(
        "", "ControlNet units only for faces",
        "Blank: every enabled ControlNet unit acts in the main pass and in the face pass. "
        "Unit numbers as ControlNet's tabs name them (e.g. 1, or 0, 2): those units act "
        "only in the face pass, the others only in the main pass.",
        GROUP_ADVANCED, pattern=(r"\s*(\d{1,2}\s*(,\s*\d{1,2}\s*)*)?",
                                 "a comma-separated list of unit numbers, e.g. 1 or 0, 2"))
    output_folder: str = _option(
        "", "Output folder",
        "Where processed faces and debugging folders go; blank = a 'facepop' folder in the "
        "output folder of the tab (img2img or txt2img). {date} is replaced by today's date.",
        GROUP_ADVANCED)

    # --- debugging ------------------------------------------------------------------------
    debug: bool = _option(
        False, "Save debugging images",
        "Write a folder per image showing every step: detections, aligned faces, masks, "
        "processed faces, the composite and one contact sheet.",
        GROUP_DEBUGGING)
    save_faces: bool = _option(
        True, "Save processed faces",
        "Also save each processed face on its own next to the result.",
        GROUP_DEBUGGING)

    # Options added after the first release come last, so positional API args written for
    # it keep their meaning; the panel (webui/panel.py LAYOUT) places them where they belong.
    # --- restore & colour -----------------------------------------------------------------
    face_restoration: str = _option(
        "none", "Face restoration",
        "Restore each face after its pass with the WebUI's own face restorer, on the upright "
        "face crop. CodeFormer keeps identity well at a fidelity of 0.5-0.7; GFPGAN is "
        "smoother. Needs the host's restorer model (no download); where there is none, "
        "FacePop says so once and goes on without.",
        GROUP_RESTORE, choices=FACE_RESTORATION_LABELS)
    codeformer_weight: float = _option(
        0.6, "CodeFormer fidelity",
        "CodeFormer's weight: higher keeps more of the face as it was (identity), lower "
        "restores harder and sharper. 0.5-0.7 suits most faces.",
        GROUP_RESTORE, minimum=0.0, maximum=1.0, step=0.01)
    restore_visibility: float = _option(
        1.0, "Restoration visibility",
        "How much of the restored face to use (0 = none, 1 = all of it).",
        GROUP_RESTORE, minimum=0.0, maximum=1.0, step=0.01)
    upscaler: str = _option(
        DEFAULT_UPSCALER, "Upscaler for small faces",
        "How a face smaller than the face size is enlarged before its pass: Lanczos "
        "(also when blank), None (one bicubic step), or the name of one of the WebUI's "
        "upscalers (e.g. R-ESRGAN 4x+), which brings back detail that plain resampling "
        "can't. A name the host does not know falls back to Lanczos, said once.",
        GROUP_RESTORE)
    enhance_filter: str = _option(
        "none", "Enhancement filter",
        "A filter over each face before its pass: unsharp mask sharpens a soft (e.g. "
        "enlarged) face, bilateral smooths skin but keeps edges, median removes noise and "
        "JPEG speckles.",
        GROUP_RESTORE, choices=ENHANCE_FILTER_LABELS)
    colour_match: bool = _option(
        True, "Colour match",
        "Match each processed face's colour and brightness to the image around it before "
        "blending, so no tinted or grey patch shows at the seam. Measured from the mask's "
        "soft edge only, so changes the face pass makes inside the face stay.",
        GROUP_RESTORE)

    # --- eyes ---------------------------------------------------------------------------------
    eyes_pass: bool = _option(
        False, "Eyes pass",
        "After the face pass, cut out both eyes of each face (from the face landmarks), "
        "upright and enlarged, give them their own pass with the eyes prompt below (all "
        "faces' eyes in one batch), and blend them back through a soft eye mask.",
        GROUP_EYES)
    keep_original_eyes: bool = _option(
        False, "Keep original eyes",
        "Put the source image's eyes back into each processed face (the face pass often "
        "changes the gaze). With the eyes pass on too, the eyes pass refines the original "
        "eyes.",
        GROUP_EYES)
    eyes_prompt: str = _option(
        DEFAULT_EYES_PROMPT, "Eyes prompt",
        "Prompt of the eyes pass. [PROMPT] stands for the face's own prompt (e.g. its eye "
        "colour); blank = the face's prompt. [SEP] separates per-face prompts as in the "
        "face prompt.",
        GROUP_EYES, multiline=True)
    eyes_negative_prompt: str = _option(
        "", "Eyes negative prompt",
        "Negative prompt of the eyes pass; blank = the face's negative prompt. [PROMPT] "
        "and [SEP] work as in the eyes prompt.",
        GROUP_EYES, multiline=True)
    eyes_steps: int = _option(
        30, "Eyes steps", "Sampling steps of the eyes pass.",
        GROUP_EYES, minimum=1, maximum=150, step=1)
    eyes_cfg_scale: float = _option(
        7.0, "Eyes CFG scale", "CFG scale of the eyes pass.",
        GROUP_EYES, minimum=1.0, maximum=30.0, step=0.5)
    eyes_denoising_strength: float = _option(
        0.3, "Eyes denoising strength",
        "How much the eyes pass may change the eyes; low values keep the gaze.",
        GROUP_EYES, minimum=0.0, maximum=1.0, step=0.01)
    eyes_width: int = _option(
        512, "Eyes width",
        "Width in pixels of the eyes crop in its pass; its height is half of it.",
        GROUP_EYES, minimum=128, maximum=2048, step=16)
    # (last, so that the positional API args of the settings before it keep their places)
    face_distilled_cfg_scale: float = _option(
        3.5, "Face distilled CFG",
        "Distilled CFG scale of the face pass, for models that use one (Flux in Forge); "
        "others ignore it. With separate face processing off the face pass takes the "
        "job's Distilled CFG Scale.",
        GROUP_FACE_PASS, minimum=0.0, maximum=30.0, step=0.1)

    def __post_init__(self) -> None:
        for spec in option_specs():
            value = coerce(spec, getattr(self, spec.name))
            check_range(spec, value)
            object.__setattr__(self, spec.name, value)

    # --- conversions ------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> FacePopSettings:
        """Build settings from named values; missing ones take their defaults.

        Raises SettingsError naming the field for unknown keys and bad values.
        """
        if not isinstance(values, Mapping):
            raise SettingsError("args", f"expected an object of named settings, got "
                                        f"{type(values).__name__}")
        specs = {spec.name: spec for spec in option_specs()}
        for key in values:
            if key not in specs:
                raise SettingsError(str(key), unknown_key_message(str(key), specs))
        return cls(**values)

    @classmethod
    def from_positional(cls, values: Sequence[Any]) -> FacePopSettings:
        """Build settings from values in field (UI) order; a short list takes defaults."""
        specs = option_specs()
        if len(values) > len(specs):
            raise SettingsError(
                "args", f"got {len(values)} positional values, FacePop has {len(specs)} "
                        f"settings")
        # A short list is fine: the remaining settings take their defaults.
        return cls(**{spec.name: value for spec, value in zip(specs, values, strict=False)})

    @classmethod
    def from_args(cls, args: Sequence[Any]) -> FacePopSettings:
        """Accept either form the API allows: a dict of named settings, or positional values.

        The WebUI fills the script's argument slots with the panel's defaults and then
        writes the request's ``args`` over them from the first slot on, so a request with
        one dict arrives as ``(dict, default, default, ...)``: the values after a leading
        dict are the host's defaults and are ignored.
        """
        if len(args) > 0 and isinstance(args[0], Mapping):
            return cls.from_dict(args[0])
        if any(isinstance(arg, Mapping) for arg in args):
            raise SettingsError("args", "give either ONE object of named settings first, or "
                                        "a list of values in UI order, not a mix")
        return cls.from_positional(args)

    def to_dict(self) -> dict[str, Value]:
        return {spec.name: getattr(self, spec.name) for spec in option_specs()}

    def to_positional(self) -> list[Value]:
        return [getattr(self, spec.name) for spec in option_specs()]

    def non_defaults(self) -> dict[str, Value]:
        return {spec.name: getattr(self, spec.name) for spec in option_specs()
                if getattr(self, spec.name) != spec.default}

    def replace(self, **changes: Any) -> FacePopSettings:
        return dataclasses.replace(self, **changes)

    @property
    def padding_fraction(self) -> float:
        return self.padding / 100.0

    @property
    def eyes_size(self) -> tuple[int, int]:
        """(width, height) of the eyes crop: two to one, both multiples of 8."""
        width = self.eyes_width // 16 * 16
        return width, width // 2


def option_specs() -> tuple[OptionSpec, ...]:
    """The options in UI / positional order."""
    specs = []
    for f in dataclasses.fields(FacePopSettings):
        meta = f.metadata
        specs.append(OptionSpec(
            name=f.name, kind=_field_type(f), default=f.default, label=meta["label"],
            help=meta["help"], group=meta["group"], minimum=meta["minimum"],
            maximum=meta["maximum"], step=meta["step"], choices=meta["choices"],
            choice_labels=meta["choice_labels"], multiline=meta["multiline"],
            pattern=meta["pattern"], pattern_meaning=meta["pattern_meaning"]))
    return tuple(specs)


def option_spec(name: str) -> OptionSpec:
    for spec in option_specs():
        if spec.name == name:
            return spec
    raise KeyError(name)


def _field_type(f: dataclasses.Field) -> type:
    annotation = f.type if isinstance(f.type, str) else f.type.__name__
    return {"bool": bool, "int": int, "float": float, "str": str}[annotation]
