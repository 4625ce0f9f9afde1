"""FacePop's axes of the WebUI's X/Y/Z plot, as plain data: which settings each axis sets
and what it is called.

The WebUI adapter (``lib_facepop/webui/xyz.py``) turns these into the host's axis options;
the settings reference (docs/settings.md, made by ``lib_facepop.settings_doc``) lists them.
Only the settings model is imported here, so both can read the table.
"""

from __future__ import annotations

from dataclasses import dataclass

from lib_facepop.settings import option_spec

AXIS_PREFIX = "[FacePop] "


@dataclass(frozen=True)
class FacePopAxis:
    """One axis: the settings it sets (all to the same value) and its label."""

    settings: tuple[str, ...]
    title: str | None = None
    """The axis label without the prefix; default: the setting's panel label."""
    offers_host_upscalers: bool = False
    """Its values are offered from the host's upscalers when the X/Y/Z plot makes its UI
    (for a setting without choices of its own)."""

    @property
    def label(self) -> str:
        return AXIS_PREFIX + (self.title or option_spec(self.settings[0]).label)

    @property
    def kind(self) -> type:
        return option_spec(self.settings[0]).kind

    def own_choices(self) -> list[str] | None:
        """The values the axis offers by itself (None: typed values, or the host's)."""
        if self.kind is bool:
            return ["True", "False"]
        own = option_spec(self.settings[0]).choices
        return list(own) if own is not None else None


AXES = (
    FacePopAxis(("enabled",)),
    FacePopAxis(("face_denoising_strength",)),
    FacePopAxis(("face_steps",)),
    FacePopAxis(("face_cfg_scale",)),
    FacePopAxis(("face_prompt",)),
    FacePopAxis(("padding",)),
    FacePopAxis(("mask_feather",)),
    FacePopAxis(("face_width", "face_height"), "Face size (width and height)"),
    FacePopAxis(("max_faces",)),
    FacePopAxis(("confidence",)),
    FacePopAxis(("min_face_size",)),
    FacePopAxis(("mask_source",)),
    FacePopAxis(("face_seed_mode",)),
    FacePopAxis(("aggressive_detection",)),
    FacePopAxis(("rotation_threshold",)),
    FacePopAxis(("face_restoration",)),
    FacePopAxis(("codeformer_weight",)),
    FacePopAxis(("restore_visibility",)),
    FacePopAxis(("upscaler",), offers_host_upscalers=True),
    FacePopAxis(("enhance_filter",)),
    FacePopAxis(("colour_match",)),
    FacePopAxis(("eyes_pass",)),
    FacePopAxis(("keep_original_eyes",)),
    FacePopAxis(("eyes_denoising_strength",)),
)


def axes_of(setting: str) -> tuple[FacePopAxis, ...]:
    """The axes that set ``setting`` (none for most settings)."""
    return tuple(axis for axis in AXES if setting in axis.settings)
