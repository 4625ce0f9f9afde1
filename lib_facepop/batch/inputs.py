"""Which images a batch reads, and the output name each gets.

Inputs are files, folders (their images; with ``recursive`` also those of subfolders) and
glob patterns (``*``, ``?``, ``[...]``, ``**``; quoted, so the shell leaves them alone).
A file given by name is written as ``<stem>.png``; an image found in a folder or by a
pattern keeps its path below that folder (below the pattern's fixed part), so images of
different subfolders never collide. Where two inputs from different folders would still
get the same name (``x/s.png y/s.png``, or two folders both holding ``s.png``), each of them
is written under its path below their common folder (``x/s.png``, ``y/s.png``), as
``--recursive`` names images in subfolders; the other inputs keep their names.
"""

from __future__ import annotations

import dataclasses
import glob
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".jpe", ".webp", ".bmp", ".tif", ".tiff",
                            ".gif"})
_GLOB_MAGIC = ("*", "?", "[")


@dataclass(frozen=True)
class InputImage:
    path: Path
    """The file to read."""
    shown: str
    """How messages name it: the path as given, or as found in a folder."""
    output: PurePath
    """Its result's path below the output folder, without suffix."""
    root: Path | None = None
    """The folder ``output`` is relative to (None: not known)."""


@dataclass
class Inputs:
    images: list[InputImage] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)
    """(input as given, why) for each input that names no image (empty pattern or
    folder); a missing file is reported when it is read."""
    excluded: list[str] = field(default_factory=list)
    """Inputs as given (folders, patterns) whose images all lie in the excluded folder."""


class InputClashError(ValueError):
    """Two inputs would be written under one name."""


def expand_inputs(specs: Sequence[str], *, recursive: bool = False,
                  exclude: Path | None = None) -> Inputs:
    """The images that ``specs`` name, in order, each once.

    Images found in folders and by patterns are sorted by path; files below ``exclude``
    (the output folder) are not taken from folders and patterns.
    """
    found = Inputs()
    seen: set[Path] = set()
    excluded = _resolved(exclude) if exclude is not None else None

    def add(image: InputImage) -> None:
        key = _resolved(image.path)
        if key not in seen:
            seen.add(key)
            found.images.append(image)

    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            files = _images_in(path, recursive, excluded)
            if not files and excluded is not None and _images_in(path, recursive, None):
                found.excluded.append(spec)
            elif not files:
                hint = ("" if recursive or not _has_subfolders(path) else
                        " (--recursive looks in its subfolders too)")
                found.missing.append((spec, f"no images in this folder{hint}"))
            for file in files:
                add(_found(file, path))
        elif path.exists() or not any(magic in spec for magic in _GLOB_MAGIC):
            # A file by name; a missing one is reported when it is read.
            add(InputImage(path, spec, PurePath(path.stem), path.parent))
        else:
            matches = _glob(spec, recursive, excluded)
            if not matches and excluded is not None and _glob(spec, recursive, None):
                found.excluded.append(spec)
            elif not matches:
                found.missing.append((spec, "no image matches this pattern"))
            base = _fixed_part(spec)
            for file in matches:
                add(_found(file, base))
    found.images = keep_apart(found.images)
    return found


def keep_apart(images: Sequence[InputImage]) -> list[InputImage]:
    """The images, those that would share an output name with another from a different
    folder renamed to their path below the common folder of those folders."""
    groups: dict[str, list[InputImage]] = {}
    for image in images:
        groups.setdefault(_key(image), []).append(image)
    renamed: dict[int, InputImage] = {}
    for group in groups.values():
        roots = {_absolute(image.root) for image in group if image.root is not None}
        if len(group) < 2 or len(roots) < 2 or any(image.root is None for image in group):
            continue
        try:
            common = os.path.commonpath(list(roots))
        except ValueError:  # e.g. folders on two drives
            continue
        for image in group:
            below = PurePath(os.path.relpath(_absolute(image.root), common))
            renamed[id(image)] = dataclasses.replace(image, output=below / image.output,
                                                     root=Path(common))
    return [renamed.get(id(image), image) for image in images]


def refuse_clashes(images: Iterable[InputImage]) -> None:
    """InputClashError naming the first two inputs that would still get the same output
    name (compared without case: some file systems don't tell a.png from A.png)."""
    owners: dict[str, InputImage] = {}
    for image in images:
        key = _key(image)
        if key in owners:
            other = owners[key]
            case = (" (their names differ only in case, which some file systems don't tell "
                    "apart)" if other.output != image.output else "")
            raise InputClashError(
                f"{other.shown} and {image.shown} would both be written as "
                f"{image.output.as_posix()}.png{case}; rename one of them")
        owners[key] = image


def _key(image: InputImage) -> str:
    return image.output.as_posix().casefold()


def _found(file: Path, root: Path) -> InputImage:
    """An image found below ``root`` (a folder given, a pattern's fixed part)."""
    try:
        return InputImage(file, str(file), PurePath(file.relative_to(root).with_suffix("")),
                          root)
    except ValueError:
        return InputImage(file, str(file), PurePath(file.stem), file.parent)


def _absolute(path: Path) -> str:
    return os.path.abspath(path)


def _images_in(folder: Path, recursive: bool, excluded: Path | None) -> list[Path]:
    walker = folder.rglob("*") if recursive else folder.iterdir()
    files = [p for p in walker if _is_image_file(p, folder) and not _below(p, excluded)]
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def _has_subfolders(folder: Path) -> bool:
    return any(p.is_dir() and not p.name.startswith(".") for p in folder.iterdir())


def _glob(spec: str, recursive: bool, excluded: Path | None) -> list[Path]:
    files: list[Path] = []
    base = _fixed_part(spec)
    for match in sorted(glob.glob(spec, recursive=True)):
        path = Path(match)
        if path.is_dir():
            files += _images_in(path, recursive, excluded)
        elif _is_image_file(path, base) and not _below(path, excluded):
            files.append(path)
    return files


def _fixed_part(spec: str) -> Path:
    """The folder part of a pattern before its first wildcard."""
    parts = Path(spec).parts
    fixed = list(_until_magic(parts))
    return Path(*fixed) if fixed else Path(".")


def _until_magic(parts: Sequence[str]) -> Iterable[str]:
    for part in parts[:-1]:
        if any(magic in part for magic in _GLOB_MAGIC):
            return
        yield part


def _is_image_file(path: Path, root: Path) -> bool:
    """An image by its suffix, not hidden (nor in a hidden folder below ``root``)."""
    if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
        return False
    try:
        relative = path.relative_to(root).parts
    except ValueError:
        relative = (path.name,)
    return not any(part.startswith(".") for part in relative)


def _below(path: Path, folder: Path | None) -> bool:
    if folder is None:
        return False
    resolved = _resolved(path)
    return resolved == folder or folder in resolved.parents


def _resolved(path: Path) -> Path:
    return Path(os.path.realpath(path))
