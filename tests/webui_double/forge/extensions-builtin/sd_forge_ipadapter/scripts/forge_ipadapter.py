"""Stands in for extensions-builtin/sd_forge_ipadapter/scripts/forge_ipadapter.py (Forge
main): the IP-Adapter and InstantID preprocessors, registered by name when the file is
loaded, with Forge's names, tags and flags: "CLIP-ViT-H (IPAdapter)",
"CLIP-ViT-bigG (IPAdapter)", "InsightFace+CLIP-H (IPAdapter)" (PreprocessorClipVision,
tag IP-Adapter) and "InsightFace (InstantID)" (tag Instant-ID, no resolution slider, not
cropped with the inpaint mask). Their models (CLIP vision, InsightFace) and the
IP-Adapter patcher are left out: the ControlNet stand-in patches every unit alike.
"""

from modules_forge.shared import add_supported_preprocessor
from modules_forge.supported_preprocessor import (
    Preprocessor,
    PreprocessorClipVision,
    PreprocessorParameter,
)


class PreprocessorClipVisionForIPAdapter(PreprocessorClipVision):
    def __init__(self, name, url, filename):
        super().__init__(name, url, filename)
        self.tags = ["IP-Adapter"]
        self.model_filename_filters = ["IP-Adapter", "IP_Adapter"]
        self.sorting_priority = 20


class PreprocessorInsightFaceForInstantID(Preprocessor):
    def __init__(self, name):
        super().__init__()
        self.name = name
        self.tags = ["Instant-ID"]
        self.model_filename_filters = ["Instant-ID", "Instant_ID"]
        self.slider_resolution = PreprocessorParameter(visible=False)
        self.corp_image_with_a1111_mask_when_in_img2img_inpaint_tab = False
        self.show_control_mode = False
        self.sorting_priority = 10

    def __call__(self, input_image, resolution, slider_1=None, slider_2=None, slider_3=None,
                 **kwargs):
        return {"insightface": None, "image": input_image, "instant_id": True}


for _name, _file in (("CLIP-ViT-H (IPAdapter)", "CLIP-ViT-H-14.safetensors"),
                     ("CLIP-ViT-bigG (IPAdapter)", "CLIP-ViT-bigG.safetensors"),
                     ("InsightFace+CLIP-H (IPAdapter)", "CLIP-ViT-H-14.safetensors")):
    add_supported_preprocessor(PreprocessorClipVisionForIPAdapter(_name, "", _file))
add_supported_preprocessor(PreprocessorInsightFaceForInstantID("InsightFace (InstantID)"))
