"""Cutting each face out upright and at the face-pass size, with its exact inverse."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib_facepop.faces import Face, angle_difference
from lib_facepop.geometry import Affine, FaceCrop, crop_for_face
from lib_facepop.settings import FacePopSettings
from lib_facepop.warp import warp


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
        return _cut(picture, self.transform, self.crop)


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


def align_face(image: np.ndarray, face: Face, settings: FacePopSettings) -> AlignedFace:
    """Resample the face's padded crop upright at the face-pass size.

    Parts of the crop beyond the image border are filled by mirroring the image, so faces
    at the border keep their position and size in the crop.
    """
    crop = crop_for(face, settings)
    transform = crop.to_aligned()
    return AlignedFace(face=face, crop=crop, image=_cut(image, transform, crop),
                       transform=transform)


def _cut(picture: np.ndarray, transform: Affine, crop: FaceCrop) -> np.ndarray:
    return warp(picture, transform, crop.output_size, border="reflect", interpolation="cubic")
