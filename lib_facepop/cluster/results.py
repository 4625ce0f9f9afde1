"""Writing what the tasks send back under ``--out``, on the driver: every file atomically,
an image's result after its other files (a result on disk means the image is done, so an
interrupted run resumes as one on a single machine does), and each image once: a second
answer for an image already written (a task that was given another try) is ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from lib_facepop.batch.inputs import InputImage
from lib_facepop.batch.outputs import DEBUG_FOLDER, OutputFolder
from lib_facepop.debug import new_folder
from lib_facepop.images import write_atomically


class ForeignFileError(ValueError):
    """A task sent a file whose path leads out of the output folder."""


class ResultWriter:
    def __init__(self, out: OutputFolder) -> None:
        self.out = out
        self._written: set[Path] = set()

    def write(self, image: InputImage, files: Sequence[tuple[str, bytes]]) -> Path | None:
        """The image's files (paths below the output folder, the result last) written;
        the result's path, or None when this image was written already."""
        result = self.out.target(image)
        if result in self._written:
            return None
        renamed: dict[str, str] = {}
        for relative, data in files:
            target = self._target(relative, renamed)
            write_atomically(target, lambda stream, data=data: stream.write(data))
        self._written.add(result)
        return result

    def _target(self, relative: str, renamed: dict[str, str]) -> Path:
        parts = PurePosixPath(relative).parts
        if not parts or any(part in ("", ".", "..") for part in parts) or \
                PurePosixPath(relative).is_absolute():
            raise ForeignFileError(f"a task sent the file {relative!r}, which is not below "
                                   f"the output folder")
        if len(parts) > 2 and parts[0] == DEBUG_FOLDER:
            if parts[1] not in renamed:  # as sent, or -2, -3, ... where that folder exists
                renamed[parts[1]] = new_folder(self.out.debug_root, parts[1]).name
            parts = (parts[0], renamed[parts[1]], *parts[2:])
        return self.out.root.joinpath(*parts)

