"""Stands in for backend/diffusion_engine/base.py (Forge main): ForgeObjects.

The loaded model holds three of them (shared.sd_model in the double): forge_objects_original
(as loaded), forge_objects_after_applying_lora (the batch's LoRAs on top) and forge_objects,
the working copy. process_images_inner and sample() make forge_objects a shallow_copy() of
one of the other two before each batch and each sampling, and scripts replace its `unet`
with a patched clone, so no patch outlives the sampling it was made for. clip, vae and
clipvision are left out (vae: only latent_channels).
"""

from types import SimpleNamespace


class ForgeObjects:
    def __init__(self, unet, clip=None, vae=None, clipvision=None):
        self.unet, self.clip, self.vae, self.clipvision = unet, clip, vae, clipvision

    def shallow_copy(self):
        return ForgeObjects(self.unet, self.clip, self.vae, self.clipvision)


def default_vae():
    return SimpleNamespace(latent_channels=4)
