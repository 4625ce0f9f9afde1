"""Stands in for forge_sag.py of extensions-builtin/sd_forge_sag (Forge main): the always-on
"SelfAttentionGuidance Integrated (SD 1.x, SD 2.x, SDXL)" script, one of Forge's UNet
patchers (modules_forge/unet_patcher_stand_in.py says what the double keeps of them); its
patch adds (0, 6, 0) to every pixel.
"""

from modules_forge.unet_patcher_stand_in import UNetPatcherScript


class Script(UNetPatcherScript):
    label = "SelfAttentionGuidance Integrated (SD 1.x, SD 2.x, SDXL)"
    patch_name = "sag"
    shift = (0, 6, 0)
