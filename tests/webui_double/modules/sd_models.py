"""Stands in for modules/sd_models.py (A1111 v1.10.1): the parts jobs and scripts call.

apply_token_merging(sd_model, ratio) records the ratio on the model as the host does
(sd_model.applied_token_merged_ratio; the tomesd patch itself is left out: the painter
ignores it, the process_images_log records the ratio each batch sampled with).
get_closet_checkpoint_match() finds the one checkpoint the double knows by any of its
aliases; reload_model_weights() does nothing (one model, always loaded).
"""

from modules import shared


def apply_token_merging(sd_model, token_merging_ratio):
    """As the host: a ratio equal to the applied one changes nothing; any other replaces it
    (the host removes the old tomesd patch and applies a new one when above 0)."""
    if getattr(sd_model, "applied_token_merged_ratio", 0) == token_merging_ratio:
        return
    sd_model.applied_token_merged_ratio = token_merging_ratio


def get_closet_checkpoint_match(search_string):
    if not search_string:
        return None
    return shared.checkpoint_aliases.get(search_string)


def reload_model_weights(sd_model=None, info=None, forced_reload=False):
    return shared.sd_model
