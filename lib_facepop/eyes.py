"""The eyes of a face: an upright crop around both eyes from the face-mesh landmarks, a soft
eye mask, the eyes pass and "keep original eyes".

Everything here works in the aligned face's frame (the face crop at the face size); the
eyes crop is a ``FaceCrop`` of that frame, turned by the eye line's own angle, so the eyes
are level in it even where the face crop was not rotated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lib_facepop.align import AlignedFace
from lib_facepop.blend import PasteBack, blend_faces, mix
from lib_facepop.face_pass import build_eyes_tasks, eyes_pass_params
from lib_facepop.faces import roll_from_eyes
from lib_facepop.geometry import FaceCrop
from lib_facepop.masks.region import soft_ellipse
from lib_facepop.notices import Notices
from lib_facepop.processors import FaceProcessor, FaceTask
from lib_facepop.processors.base import conform_outputs
from lib_facepop.settings import FacePopSettings
from lib_facepop.tools import Upscaler
from lib_facepop.upscale import cut_upright
from lib_facepop.warp import warp

# Face-mesh eye contours (eyelid margins), "left" = the viewer's left in an upright face.
LEFT_EYE_CONTOUR = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161,
                    246)
RIGHT_EYE_CONTOUR = (362, 382, 381, 380, 374, 373, 390, 249, 263, 466, 388, 387, 386, 385,
                     384, 398)
# The eyes crop is this many eye distances (centre to centre) wide: both eyes, their
# corners and some of the brows and cheeks for context.
EYES_SPAN = 2.2
# The soft eye mask: full strength over the eye grown by these factors (lids and lashes),
# fading out over FEATHER more of it.
EYE_GROWTH_X = 1.3
EYE_GROWTH_Y = 2.0
EYE_MIN_ROUNDNESS = 0.45
EYE_FEATHER = 0.6
# Eyes closer together than this (aligned pixels) are too small or turned away to process.
MIN_EYE_DISTANCE = 12.0


@dataclass(frozen=True)
class EyesRegion:
    """Where a face's eyes are: the eyes crop in the aligned face's frame, and the soft eye
    mask in the eyes crop (float32, 1 = the eyes)."""

    crop: FaceCrop
    mask: np.ndarray

    def mask_in_face(self, face_size: tuple[int, int]) -> np.ndarray:
        """The eye mask in the aligned face's frame."""
        to_face = self.crop.to_aligned().inverse()
        return np.clip(warp(self.mask, to_face, face_size, border="zero",
                            interpolation="linear"), 0.0, 1.0)

    def paste_into(self, face: np.ndarray, eyes: np.ndarray) -> np.ndarray:
        """``eyes`` (an image of the eyes crop) blended into ``face`` through the mask."""
        paste = PasteBack(face_image=eyes, mask=self.mask, to_aligned=self.crop.to_aligned(),
                          crop_corners=self.crop.corners())
        return blend_faces(face, [paste]).image


@dataclass(frozen=True)
class EyesWork:
    """What happened to one face's eyes, for the debugging folder."""

    region: EyesRegion
    crop_image: np.ndarray
    """The eyes crop the eyes pass received (with "keep original eyes" alone: the source's
    eyes that were put back)."""
    mask_in_face: np.ndarray
    kept_original: bool
    processed: np.ndarray | None = None
    task: FaceTask | None = None


def eye_contours(aligned: AlignedFace) -> tuple[np.ndarray, np.ndarray] | None:
    """(left, right) eye contours in the aligned frame; None without a face mesh."""
    mesh = aligned.mesh_in_aligned()
    if mesh is None or len(mesh) <= max(max(LEFT_EYE_CONTOUR), max(RIGHT_EYE_CONTOUR)):
        return None
    return mesh[list(LEFT_EYE_CONTOUR)], mesh[list(RIGHT_EYE_CONTOUR)]


def eyes_region(aligned: AlignedFace, size: tuple[int, int]) -> EyesRegion | None:
    """The eyes crop of an aligned face at ``size`` (width, height), or None when the face
    has no landmarks for its eyes or its eyes are too small to process."""
    contours = eye_contours(aligned)
    if contours is None:
        return None
    left, right = (contour.mean(axis=0) for contour in contours)
    distance = float(np.hypot(*(right - left)))
    if distance < MIN_EYE_DISTANCE:
        return None
    width = EYES_SPAN * distance
    centre = (left + right) / 2.0
    crop = FaceCrop(center=(float(centre[0]), float(centre[1])),
                    size=(width, width * size[1] / size[0]),
                    angle=roll_from_eyes(tuple(left), tuple(right)),
                    output_size=(int(size[0]), int(size[1])))
    return EyesRegion(crop=crop, mask=eye_mask(crop, contours))


def eye_mask(crop: FaceCrop, contours: Sequence[np.ndarray]) -> np.ndarray:
    """A soft ellipse over each eye (lids included), 0 at the crop's border."""
    width, height = crop.output_size
    to_eyes = crop.to_aligned()
    mask = np.zeros((height, width), dtype=np.float32)
    for contour in contours:
        points = to_eyes.apply(contour)
        low, high = points.min(axis=0), points.max(axis=0)
        centre = (low + high) / 2.0
        half_w = max(float(high[0] - low[0]) / 2.0, 1.0)
        half_h = max(float(high[1] - low[1]) / 2.0, 0.5)
        inner = (half_w * EYE_GROWTH_X, max(half_h * EYE_GROWTH_Y, half_w * EYE_MIN_ROUNDNESS))
        outer = (inner[0] * (1.0 + EYE_FEATHER), inner[1] * (1.0 + EYE_FEATHER))
        ellipse = soft_ellipse((width, height), (float(centre[0]), float(centre[1])), inner,
                               outer)
        np.maximum(mask, ellipse, out=mask)
    return mask * _border_fade((width, height))


def _border_fade(size: tuple[int, int], margin: float = 2.0) -> np.ndarray:
    """1 inside, falling to 0 on the outermost pixels: nothing is pasted at the crop edge."""
    width, height = size
    xs = np.minimum(np.arange(width) + 0.5, width - np.arange(width) - 0.5)
    ys = np.minimum(np.arange(height) + 0.5, height - np.arange(height) - 0.5)
    fade_x = np.clip((xs - 0.5) / margin, 0.0, 1.0)
    fade_y = np.clip((ys - 0.5) / margin, 0.0, 1.0)
    return (fade_y[:, None] * fade_x[None, :]).astype(np.float32)


def keep_original_eyes(face: np.ndarray, source: np.ndarray, region: EyesRegion
                       ) -> np.ndarray:
    """The source face's eyes put back into the processed ``face`` (same aligned frame)."""
    height, width = face.shape[:2]
    return mix(face, source, region.mask_in_face((width, height)))


def eyes_stage(faces: Sequence[np.ndarray], aligned: Sequence[AlignedFace],
               face_tasks: Sequence[FaceTask], settings: FacePopSettings,
               processor: FaceProcessor, upscaler: Upscaler | None, notices: Notices
               ) -> tuple[list[np.ndarray], list[EyesWork | None]]:
    """Keep original eyes and/or the eyes pass over the processed faces of one image.

    With "keep original eyes" the source's eyes go back into each face first; the eyes
    pass (all faces' eyes in ONE processor call) then works on those eyes. Faces without
    usable eye landmarks are left as they are (said once).
    """
    results = list(faces)
    regions: list[EyesRegion | None] = []
    for i, face in enumerate(aligned):
        region = eyes_region(face, settings.eyes_size)
        if region is None:
            notices.info("eyes-missing", "FacePop: a face without usable eye landmarks "
                                         "(too small or turned away) keeps its eyes as they are")
        elif settings.keep_original_eyes:
            results[i] = keep_original_eyes(results[i], face.image, region)
        regions.append(region)
    crops = {i: cut_upright(results[i], region.crop, upscaler, notices)[0]
             for i, region in enumerate(regions) if region is not None}
    processed: dict[int, np.ndarray] = {}
    tasks: dict[int, FaceTask] = {}
    if settings.eyes_pass and crops:
        order = sorted(crops)
        built = build_eyes_tasks([crops[i] for i in order], [face_tasks[i] for i in order],
                                 settings)
        outputs = conform_outputs(processor.process(built, eyes_pass_params(settings)),
                                  [settings.eyes_size] * len(built), processor.name, "eyes")
        for i, task, eyes in zip(order, built, outputs, strict=True):
            processed[i], tasks[i] = eyes, task
            results[i] = regions[i].paste_into(results[i], eyes)
    work: list[EyesWork | None] = []
    for i, region in enumerate(regions):
        if region is None:
            work.append(None)
            continue
        height, width = results[i].shape[:2]
        work.append(EyesWork(region=region, crop_image=crops[i],
                             mask_in_face=region.mask_in_face((width, height)),
                             kept_original=settings.keep_original_eyes,
                             processed=processed.get(i), task=tasks.get(i)))
    return results, work
