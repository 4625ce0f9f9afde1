"""Stands in for extensions-builtin/forge_preprocessor_reference/scripts/forge_reference.py
(Forge main): "reference_only", "reference_adain", "reference_adain+attn" (tag Reference,
no resolution slider, not cropped with the inpaint mask, no control model). Their attention
and AdaIN hooks are left out."""

from modules_forge.shared import add_supported_preprocessor
from modules_forge.supported_preprocessor import Preprocessor, PreprocessorParameter


class PreprocessorReference(Preprocessor):
    def __init__(self, name, priority=0):
        super().__init__()
        self.name = name
        self.sorting_priority = priority
        self.tags = ["Reference"]
        self.slider_resolution = PreprocessorParameter(visible=False)
        self.show_control_mode = False
        self.corp_image_with_a1111_mask_when_in_img2img_inpaint_tab = False
        self.do_not_need_model = True


for _name, _priority in (("reference_only", 100), ("reference_adain", 0),
                         ("reference_adain+attn", 0)):
    add_supported_preprocessor(PreprocessorReference(_name, _priority))
