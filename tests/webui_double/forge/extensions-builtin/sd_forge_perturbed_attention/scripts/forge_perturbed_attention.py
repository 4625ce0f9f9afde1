"""Stands in for forge_perturbed_attention.py of extensions-
builtin/sd_forge_perturbed_attention (Forge main): the always-on "PerturbedAttentionGuidance
Integrated" script, one of Forge's UNet patchers (modules_forge/unet_patcher_stand_in.py
says what the double keeps of them); its patch adds (0, 0, 6) to every pixel.
"""

from modules_forge.unet_patcher_stand_in import UNetPatcherScript


class Script(UNetPatcherScript):
    label = "PerturbedAttentionGuidance Integrated"
    patch_name = "pagi"
    shift = (0, 0, 6)
