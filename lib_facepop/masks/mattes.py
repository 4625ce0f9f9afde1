"""Masks from a person matte: MODNet on ONNX Runtime, or MediaPipe selfie segmentation.

Either way the face mask is the matte intersected with the feathered face region: the
matte follows the real outline of face, hair and neck; the region keeps the mask inside
this face's crop and fades it out towards the crop border, so no crop edge can ever show.
"""

from __future__ import annotations

import numpy as np

from lib_facepop.align import AlignedFace
from lib_facepop.detect import mediapipe_runtime
from lib_facepop.detect.graphs import MASK_STREAM
from lib_facepop.masks.base import FaceMask
from lib_facepop.masks.region import feathered_face_region
from lib_facepop.settings import FacePopSettings

# MODNet was trained at a short side of 512 px. On the CPU a 512 px matte costs about a
# second per face; 320 px keeps the outline and costs about a third (bench/bench_masks.py).
MODNET_SHORT_SIDE_GPU = 512
MODNET_SHORT_SIDE_CPU = 320


def matte_mask(aligned: AlignedFace, settings: FacePopSettings, matte: np.ndarray,
               source: str) -> FaceMask:
    region = feathered_face_region(aligned, settings, fill_padding=True)
    person = np.clip(np.asarray(matte, dtype=np.float32), 0.0, 1.0)
    return FaceMask(mask=np.minimum(person, region), source=source,
                    layers={"matte": person, "region": region}, person=person)


class ModnetMaskSource:
    """MODNet's portrait matte of the aligned face (ONNX Runtime; GPU when available)."""

    name = "modnet"

    def __init__(self, session: object) -> None:
        self.session = session
        provider = str(getattr(session, "provider", ""))
        self.short_side = (MODNET_SHORT_SIDE_GPU if "CUDA" in provider
                           else MODNET_SHORT_SIDE_CPU)

    def make_mask(self, aligned: AlignedFace, settings: FacePopSettings) -> FaceMask:
        matte = self.session.predict(aligned.image, short_side=self.short_side)
        return matte_mask(aligned, settings, matte, self.name)


class SelfieMaskSource:
    """MediaPipe's selfie segmentation, bundled with MediaPipe: no model file."""

    name = "selfie"

    def make_mask(self, aligned: AlignedFace, settings: FacePopSettings) -> FaceMask:
        matte = mediapipe_runtime.selfie_segmentation().process(aligned.image)[MASK_STREAM]
        if matte is None or matte.shape[:2] != aligned.image.shape[:2]:
            raise RuntimeError("selfie segmentation returned no mask")
        return matte_mask(aligned, settings, matte, self.name)
