"""Stands in for backend/patcher/unet.py (Forge main): UnetPatcher, what scripts patch.

As in Forge: a patcher is never changed in place by the scripts that patch it; each
clones it (clone(): same model, copies of its options and patches), adds its patches to
the clone and puts the clone into p.sd_model.forge_objects.unet. model_options is a dict
the clone copies (one level deep, as Forge's).

The double's patches (not Forge's mechanism, which hooks blocks, attention and the
sampling function): add_patch(name, function) keeps an ordered list of functions from a
sampled batch (B, H, W, 3 floats in 0..255) to a batch; apply(batch) runs them in order,
then the model itself (which returns the batch). Token merging (backend/misc/tomesd.py's
TomePatcher) is recorded as token_merging_ratio on the clone it makes.

Test scaffolding: patch_names (the names of the patches, in order).
"""

import copy


class UnetModel:
    """The diffusion model: returns the batch (the painter has already painted it)."""

    def forward(self, x):
        return x


class UnetPatcher:
    def __init__(self, model=None):
        self.model = model if model is not None else UnetModel()
        self.model_options = {"transformer_options": {}}
        self.patches = []
        self.token_merging_ratio = 0

    def clone(self):
        cloned = UnetPatcher(self.model)
        cloned.model_options = copy.copy(self.model_options)
        cloned.model_options["transformer_options"] = dict(
            self.model_options.get("transformer_options", {}))
        cloned.patches = list(self.patches)
        cloned.token_merging_ratio = self.token_merging_ratio
        return cloned

    def add_patch(self, name, function):
        self.patches.append((name, function))

    @property
    def patch_names(self):
        return [name for name, _ in self.patches]

    def apply(self, batch):
        for _, function in self.patches:
            batch = function(batch)
        return self.model.forward(batch)
