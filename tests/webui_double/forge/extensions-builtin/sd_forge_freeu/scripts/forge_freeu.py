"""Stands in for forge_freeu.py of extensions-builtin/sd_forge_freeu (Forge main): the always-
on "FreeU Integrated (SD 1.x, SD 2.x, SDXL)" script, one of Forge's UNet patchers
(modules_forge/unet_patcher_stand_in.py says what the double keeps of them); its patch adds
(6, 0, 0) to every pixel.
"""

from modules_forge.unet_patcher_stand_in import UNetPatcherScript


class Script(UNetPatcherScript):
    label = "FreeU Integrated (SD 1.x, SD 2.x, SDXL)"
    patch_name = "freeu"
    shift = (6, 0, 0)
