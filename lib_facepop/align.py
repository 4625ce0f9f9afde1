"""Cutting each face out upright and at the face-pass size, with its exact inverse."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib_facepop.faces import Face, angle_difference
from lib_facepop.geometry import Affine, FaceCrop, crop_for_face
from lib_facepop.notices import Notices
from lib_facepop.settings import FacePopSettings
from lib_facepop.tools import Upscaler
from lib_facepop.upscale import cut_upright


@dataclass(frozen=True)
class AlignedFace:
    """A face resampled upright at the face-pass size.

    ``transform`` maps source-image coordinates to ``image`` coordinates;
    ``transform.inverse()`` maps back exactly.
    """

    face: Face
    crop: FaceCrop
    image: np.ndarray
    transform: Affine
    upscaler: str | None = None
    """The upscaler that enlarged the face, or None when it was resampled in one step."""

    @property
    def size(self) -> tuple[int, int]:
        return self.crop.output_size

    def region_in_aligned(self) -> tuple[np.ndarray, tuple[float, float]]:
        """The face region's centre and half-extents in aligned pixels.

        The extents are those of the region's bounding box in the aligned frame, so an
        unrotated crop of a tilted face still gets a region that covers the whole face.
        """
        corners = self.transform.apply(self.face.region.corners())
        center = corners.mean(axis=0)
        half = np.abs(corners - center).max(axis=0)
        return center, (float(half[0]), float(half[1]))

    def landmarks_in_aligned(self) -> dict[str, np.ndarray]:
        return {name: self.transform.apply(point) for name, point in self.face.landmarks.items()}

    def mesh_in_aligned(self) -> np.ndarray | None:
        return None if self.face.mesh is None else self.transform.apply(self.face.mesh)

    def cut(self, picture: np.ndarray) -> np.ndarray:
        """Another picture of the source's size (a control map, say) cut out exactly like
        this face."""
        return cut_upright(picture, self.crop, None, Notices())[0]


def alignment_angle(face: Face, settings: FacePopSettings) -> float:
    """How far to turn the crop: the face's roll, or 0 if alignment is off or not worth it."""
    if not settings.auto_align:
        return 0.0
    if angle_difference(face.roll, 0.0) < settings.rotation_threshold:
        return 0.0
    return face.roll


def crop_for(face: Face, settings: FacePopSettings) -> FaceCrop:
    return crop_for_face(
        face.region,
        padding_fraction=settings.padding_fraction,
        output_size=(settings.face_width, settings.face_height),
        keep_aspect_ratio=settings.keep_aspect_ratio,
        angle=alignment_angle(face, settings),
    )


def align_face(image: np.ndarray, face: Face, settings: FacePopSettings,
               upscaler: Upscaler | None = None, notices: Notices | None = None
               ) -> AlignedFace:
    """Resample the face's padded crop upright at the face-pass size.

    Parts of the crop beyond the image border are filled by mirroring the image, so faces
    at the border keep their position and size in the crop. A face smaller than the face
    size is cut out at its own resolution and enlarged by ``upscaler`` (without one, it is
    resampled in one bicubic step); the map to the crop is the same either way.
    """
    crop = crop_for(face, settings)
    aligned, used = cut_upright(image, crop, upscaler, notices or Notices())
    return AlignedFace(face=face, crop=crop, image=aligned, transform=crop.to_aligned(),
                       upscaler=used)
