"""Stands in for extensions-builtin/forge_preprocessor_revision/scripts/
preprocessor_revision.py (Forge main): "CLIP-G (Revision)" and "CLIP-G (Revision ignore
prompt)", PreprocessorClipVision with tag Revision that need no control model. Their
conditioning modifier is left out."""

from modules_forge.shared import add_supported_preprocessor
from modules_forge.supported_preprocessor import PreprocessorClipVision


class PreprocessorClipVisionForRevision(PreprocessorClipVision):
    def __init__(self, name, url, filename, ignore_prompt=False):
        super().__init__(name, url, filename)
        self.tags = ["Revision"]
        self.model_filename_filters = ["Revision"]
        self.do_not_need_model = True
        self.ignore_prompt = ignore_prompt


add_supported_preprocessor(PreprocessorClipVisionForRevision(
    "CLIP-G (Revision)", "", "CLIP-ViT-bigG.safetensors"))
add_supported_preprocessor(PreprocessorClipVisionForRevision(
    "CLIP-G (Revision ignore prompt)", "", "CLIP-ViT-bigG.safetensors", ignore_prompt=True))
