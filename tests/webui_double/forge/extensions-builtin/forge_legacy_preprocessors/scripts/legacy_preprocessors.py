"""Stands in for extensions-builtin/forge_legacy_preprocessors/scripts/
legacy_preprocessors.py (Forge main): some of the legacy preprocessors, registered with
their Forge names and tags (LegacyPreprocessor keeps Preprocessor's defaults, so each is
taken as pixel aligned): depth_midas (Depth), openpose_full (OpenPose), lineart_realistic
(Lineart), tile_resample (no tag in Forge), shuffle (Shuffle), instant_id_face_keypoints
(Instant-ID: a picture of the face's key points), mediapipe_face (no tag). Their models
are left out."""

from modules_forge.shared import add_supported_preprocessor
from modules_forge.supported_preprocessor import Preprocessor


class LegacyPreprocessor(Preprocessor):
    def __init__(self, name, tags):
        super().__init__()
        self.name, self.tags = name, list(tags)
        self.model_filename_filters = [tag.lower() for tag in tags]


for _name, _tags in (("depth_midas", ["Depth"]), ("openpose_full", ["OpenPose"]),
                     ("lineart_realistic", ["Lineart"]), ("tile_resample", []),
                     ("shuffle", ["Shuffle"]), ("instant_id_face_keypoints", ["Instant-ID"]),
                     ("mediapipe_face", [])):
    add_supported_preprocessor(LegacyPreprocessor(_name, _tags))
