"""What a FacePop job changes on the user's `p`, and putting it back.

The img2img Batch tab, Loopback and SD upscale hand the same `p` to process_images again
and again (docs/design.md section 4, item 6). Whatever FacePop leaves on `p` the next job
reads as the user's own: a protection mask as the user's inpaint mask, "Masked content:
original", the host's overlay of FacePop's mask, FacePop's infotext entries. A job
captures these fields when it starts and puts them back when it ends (and when it fails
before the main pass begins).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Set by FacePop, or by the host's init() because of the mask FacePop gave it (mask and
# nmask: the latent masks the sampler blends with; color_corrections: the colour target
# FacePop has the host make again from the main pass's images).
CARRIED_FIELDS = ("init_images", "image_mask", "inpainting_fill", "inpaint_full_res",
                  "inpainting_mask_invert", "overlay_images", "mask_for_overlay", "paste_to",
                  "mask", "nmask", "color_corrections", "script_args")
# The user's own mask, how the main pass uses it, and what the host's init() derives from
# a mask (a later init() without one leaves these as they were).
MASK_FIELDS = ("image_mask", "inpainting_fill", "inpaint_full_res", "inpainting_mask_invert",
               "overlay_images", "mask_for_overlay", "paste_to", "mask", "nmask")
# Infotext entries the host's init() writes because of a mask.
MASK_INFOTEXT_KEYS = ("Mask blur", "Mask mode", "Inpaint area", "Masked area padding",
                      "Masked content")


@dataclass(frozen=True)
class CarriedFields:
    """The fields of a job as FacePop found them."""

    values: dict[str, Any]
    infotext: dict[str, Any]

    @staticmethod
    def capture(p: Any) -> CarriedFields:
        """The fields `p` has (a txt2img job has no images or masks: those it lacks are
        never set on it)."""
        values = {name: getattr(p, name) for name in CARRIED_FIELDS if hasattr(p, name)}
        if isinstance(values.get("init_images"), list):
            values["init_images"] = list(values["init_images"])
        return CarriedFields(values, dict(p.extra_generation_params))

    def restore_mask(self, p: Any) -> None:
        """The user's own mask and mask settings, and the host's overlay and latent masks,
        as the job began."""
        for name in MASK_FIELDS:
            if name in self.values:
                setattr(p, name, self.values[name])

    def restore(self, p: Any, added_infotext: tuple[str, ...] = ()) -> None:
        """Put the fields back. The infotext entries FacePop added (``added_infotext``) and
        those the host wrote for a mask are set back to what they were, in a new dict, so
        a Processed result made from the old one keeps them."""
        for name, value in self.values.items():
            if name == "script_args" and getattr(p, name, None) is value:
                continue  # (assigning script args again would be a no-op anyway)
            if name == "init_images" and isinstance(value, list):
                value = list(value)
            setattr(p, name, value)
        entries = dict(p.extra_generation_params)
        for key in (*added_infotext, *MASK_INFOTEXT_KEYS):
            if key in self.infotext:
                entries[key] = self.infotext[key]
            else:
                entries.pop(key, None)
        p.extra_generation_params = entries
