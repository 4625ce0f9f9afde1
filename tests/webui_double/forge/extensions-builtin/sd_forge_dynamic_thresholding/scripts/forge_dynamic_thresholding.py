"""Stands in for forge_dynamic_thresholding.py of extensions-
builtin/sd_forge_dynamic_thresholding (Forge main): the always-on "DynamicThresholding (CFG-
Fix) Integrated" script, one of Forge's UNet patchers
(modules_forge/unet_patcher_stand_in.py says what the double keeps of them); its patch adds
(-6, 0, 0) to every pixel.
"""

from modules_forge.unet_patcher_stand_in import UNetPatcherScript


class Script(UNetPatcherScript):
    label = "DynamicThresholding (CFG-Fix) Integrated"
    patch_name = "dynthres"
    shift = (-6, 0, 0)
