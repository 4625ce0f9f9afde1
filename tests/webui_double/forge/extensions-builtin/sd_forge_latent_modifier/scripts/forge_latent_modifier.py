"""Stands in for forge_latent_modifier.py of extensions-builtin/sd_forge_latent_modifier (Forge
main): the always-on "LatentModifier Integrated" script, one of Forge's UNet patchers
(modules_forge/unet_patcher_stand_in.py says what the double keeps of them); its patch adds
(0, -6, 0) to every pixel.
"""

from modules_forge.unet_patcher_stand_in import UNetPatcherScript


class Script(UNetPatcherScript):
    label = "LatentModifier Integrated"
    patch_name = "latent_modifier"
    shift = (0, -6, 0)
