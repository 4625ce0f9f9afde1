"""Stands in for forge_stylealign.py of extensions-builtin/sd_forge_stylealign (Forge main):
the always-on "StyleAlign Integrated" script, one of Forge's UNet patchers
(modules_forge/unet_patcher_stand_in.py says what the double keeps of them); its patch adds
(0, 0, -6) to every pixel.
"""

from modules_forge.unet_patcher_stand_in import UNetPatcherScript


class Script(UNetPatcherScript):
    label = "StyleAlign Integrated"
    patch_name = "stylealign"
    shift = (0, 0, -6)
