"""Stands in for modules/sd_models.py (A1111 v1.10.1): the parts jobs and scripts call.

apply_token_merging(sd_model, ratio) records the ratio on the model as the host does
(sd_model.applied_token_merged_ratio; the tomesd patch itself is left out: the painter
ignores it, the process_images_log records the ratio each batch sampled with). The rest
of the module (checkpoint lookup and loading) is left out: the double has one model,
always loaded.

Forge main: apply_token_merging(sd_model, ratio) does nothing for a ratio <= 0; else it
prints "token_merging_ratio = <ratio>" and replaces sd_model.forge_objects.unet with a
clone patched with it (its TomePatcher), i.e. it patches the current sampling's copy only.
"""

from modules.double_flavour import FORGE


def apply_token_merging(sd_model, token_merging_ratio):
    """As the host: a ratio equal to the applied one changes nothing; any other replaces it
    (the host removes the old tomesd patch and applies a new one when above 0). Forge: see
    the module's docstring."""
    if FORGE:
        if token_merging_ratio <= 0:
            return
        print(f"token_merging_ratio = {token_merging_ratio}")
        unet = sd_model.forge_objects.unet.clone()
        unet.token_merging_ratio = token_merging_ratio
        sd_model.forge_objects.unet = unet
        return
    if getattr(sd_model, "applied_token_merged_ratio", 0) == token_merging_ratio:
        return
    sd_model.applied_token_merged_ratio = token_merging_ratio

