"""The output folder of a batch: checked before any work, written atomically, resumable.

Every result is ``<folder>/<output name>.png`` (see ``inputs``); processed faces go to
``<folder>/faces/`` and debugging folders to ``<folder>/debug/``. A file under its final
name is always whole (``images.write_png``), so an image whose result exists is done, and
a later run skips it unless told to overwrite.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lib_facepop.batch.inputs import InputImage
from lib_facepop.images import LoadedImage, write_atomically, write_png

FACES_FOLDER = "faces"
DEBUG_FOLDER = "debug"
_PROBE_NAME = ".facepop-write-test"


class OutputFolderError(ValueError):
    """The output folder can't be made or written to."""


@dataclass(frozen=True)
class OutputFolder:
    root: Path
    overwrite: bool = False

    def prepare(self) -> None:
        """Make the folder if it is missing and check that files can be written there;
        OutputFolderError says what stands in the way."""
        root = self.root
        if root.exists() and not root.is_dir():
            raise OutputFolderError(f"{root}: is a file, not a folder")
        blocker = _file_in_the_way(root)
        if blocker is not None:
            raise OutputFolderError(f"{root}: can't make this folder, {blocker} is a file")
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputFolderError(f"{root}: can't make this folder "
                                    f"({exc.strerror or exc})") from None
        probe = root / _PROBE_NAME
        try:
            write_atomically(probe, lambda stream: stream.write(b"facepop"))
            probe.unlink()
        except OSError as exc:
            raise OutputFolderError(f"{root}: can't write there ({exc.strerror or exc})"
                                    ) from None

    @property
    def debug_root(self) -> Path:
        return self.root / DEBUG_FOLDER

    def target(self, image: InputImage) -> Path:
        return self.root / f"{image.output.as_posix()}.png"

    def is_done(self, image: InputImage) -> bool:
        """Whether the image's result exists and is to be kept (resume)."""
        return not self.overwrite and self.target(image).is_file()

    def write_result(self, image: InputImage, pixels: np.ndarray, loaded: LoadedImage
                     ) -> Path:
        """The result, with the source's EXIF (orientation applied) and colour profile."""
        target = self.target(image)
        write_png(target, pixels, exif=loaded.exif, icc_profile=loaded.icc_profile)
        return target

    def write_face(self, image: InputImage, index: int, face: np.ndarray) -> Path:
        target = self.root / FACES_FOLDER / f"{image.output.as_posix()}-{index:02d}.png"
        write_png(target, face)
        return target


def _file_in_the_way(folder: Path) -> Path | None:
    """The nearest existing ancestor of ``folder`` if it is a file, else None."""
    for ancestor in [folder, *folder.parents]:
        if ancestor.exists():
            return ancestor if not ancestor.is_dir() else None
    return None
