"""Finding the MODNet model to use in a models folder, converting a checkpoint to ONNX once.

Accepted files (the name must contain "modnet", in any case):

* ``*.onnx``: used as it is;
* ``*.ckpt`` / ``*.pth``: a PyTorch checkpoint (the official one is
  ``modnet_photographic_portrait_matting.ckpt``), converted ONCE to ``<stem>.onnx`` beside it
  (or in ``cache_dir``) and reused while that file is at least as new as the checkpoint.
  Conversion needs torch and onnx; inference never does.

The official file names come first, then the other files in name order. Nothing is downloaded:
the official weights are published only as a Google Drive folder, without a checksum.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from types import ModuleType

from modnet.errors import ModnetDependencyError, ModnetError, ModnetModelError

logger = logging.getLogger(__name__)

#: The official checkpoint's file name (github.com/ZHKKKe/MODNet, folder "pretrained").
DEFAULT_CHECKPOINT_NAME = "modnet_photographic_portrait_matting.ckpt"
#: The file name of its ONNX export, as written by ``python -m modnet.export``.
DEFAULT_ONNX_NAME = "modnet_photographic_portrait_matting.onnx"
ONNX_SUFFIX = ".onnx"
CHECKPOINT_SUFFIXES = (".ckpt", ".pth")
_NAME_MARKER = "modnet"


def resolve_modnet_model(
    location: str | os.PathLike[str], *, cache_dir: str | os.PathLike[str] | None = None
) -> Path | None:
    """The ONNX model file to use, or None when there is no MODNet model file.

    ``location`` is a models folder, or a model file (.onnx, .ckpt, .pth) given directly.
    A checkpoint is converted to ONNX the first time (this needs torch and onnx) and the
    converted file is reused afterwards. Returns None (never raises) when the folder or file
    does not exist or holds no MODNet file, so the caller can fall back to another mask source.

    Raises :class:`ModnetModelError` when a checkpoint cannot be converted (damaged, not
    MODNet, or the converted file cannot be written) and :class:`ModnetDependencyError` when
    torch or onnx is missing for a conversion; both derive from ``ModnetError``.
    """
    location = Path(location)
    if location.is_file():
        return _model_from_file(location, cache_dir)
    if not location.is_dir():
        logger.debug("no MODNet model: %s does not exist", location)
        return None
    for files in _modnet_files_by_stem(location):
        model = _model_for_stem(files, cache_dir)
        if model is not None:
            return model
    logger.debug("no MODNet model file in %s", location)
    return None


def modnet_model_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The MODNet model files in ``folder``, one per model, in the order
    :func:`resolve_modnet_model` tries them (an .onnx file named for each model where there
    is one, else its checkpoint). Nothing is converted or loaded; [] when ``folder`` is not
    a folder or holds no MODNet file."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return [files.get(ONNX_SUFFIX) or next(iter(files.values()))
            for files in _modnet_files_by_stem(folder)]


def converted_onnx_path(
    checkpoint: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Where the ONNX conversion of ``checkpoint`` is kept: ``<stem>.onnx`` in ``cache_dir``,
    or beside the checkpoint when no cache folder is given."""
    checkpoint = Path(checkpoint)
    folder = Path(cache_dir) if cache_dir is not None else checkpoint.parent
    return folder / f"{checkpoint.stem}{ONNX_SUFFIX}"


def ensure_onnx_for_checkpoint(
    checkpoint: str | os.PathLike[str], cache_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Return the ONNX conversion of ``checkpoint``, converting it first unless an up-to-date
    conversion exists (at least as new as the checkpoint). The file is written atomically."""
    checkpoint = Path(checkpoint)
    target = converted_onnx_path(checkpoint, cache_dir)
    if _is_up_to_date(target, checkpoint):
        logger.debug("reusing %s, converted from %s", target, checkpoint)
        return target
    export_module = _import_export_module(checkpoint)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModnetModelError(target.parent, f"cannot create the folder: {exc}") from exc
    logger.info("converting %s to ONNX (once): %s", checkpoint, target)
    try:
        export_module.convert_checkpoint_to_onnx(checkpoint, target)
    except ModnetError:
        raise
    except OSError as exc:
        raise ModnetModelError(
            target, f"cannot write the converted model: {exc} (pass a writable cache_dir)"
        ) from exc
    except Exception as exc:  # the exporter's own failures; the caller falls back on ModnetError
        raise ModnetModelError(checkpoint, f"conversion to ONNX failed: {exc}") from exc
    return target


def _model_from_file(path: Path, cache_dir: str | os.PathLike[str] | None) -> Path:
    suffix = path.suffix.lower()
    if suffix == ONNX_SUFFIX:
        return path
    if suffix in CHECKPOINT_SUFFIXES:
        return ensure_onnx_for_checkpoint(path, cache_dir)
    raise ModnetModelError(path, "not a MODNet model file: expected .onnx, .ckpt or .pth")


def _modnet_files_by_stem(folder: Path) -> list[dict[str, Path]]:
    """The MODNet files in ``folder`` grouped by stem, each group as {".onnx": path, ...}
    (suffixes in lower case); the official name first, then name order."""
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        logger.warning("cannot list the models folder %s: %s", folder, exc)
        return []
    groups: dict[str, dict[str, Path]] = {}
    for entry in entries:
        suffix = entry.suffix.lower()
        if (
            suffix in (ONNX_SUFFIX, *CHECKPOINT_SUFFIXES)
            and _NAME_MARKER in entry.name.lower()
            and not entry.name.startswith(".")
            and entry.is_file()
        ):
            groups.setdefault(entry.stem, {}).setdefault(suffix, entry)
    official = Path(DEFAULT_CHECKPOINT_NAME).stem
    return [groups[stem] for stem in sorted(groups, key=lambda stem: (stem != official, stem))]


def _model_for_stem(
    files: dict[str, Path], cache_dir: str | os.PathLike[str] | None
) -> Path | None:
    onnx_file = files.get(ONNX_SUFFIX)
    checkpoint = next((files[s] for s in CHECKPOINT_SUFFIXES if s in files), None)
    if checkpoint is None:
        return onnx_file
    if onnx_file is not None and _is_up_to_date(onnx_file, checkpoint):
        return onnx_file
    try:
        return ensure_onnx_for_checkpoint(checkpoint, cache_dir)
    except ModnetDependencyError as exc:
        if onnx_file is None:
            raise
        logger.warning("%s; using %s, which is older than %s", exc, onnx_file, checkpoint.name)
        return onnx_file


def _is_up_to_date(converted: Path, checkpoint: Path) -> bool:
    try:
        return converted.stat().st_mtime_ns >= checkpoint.stat().st_mtime_ns
    except OSError:  # absent, or its folder is not a folder / not readable
        return False


def _import_export_module(checkpoint: Path) -> ModuleType:
    """``modnet.export``, imported only when a conversion is needed (it imports torch)."""
    try:
        from modnet import export
    except ImportError as exc:
        missing = exc.name or "torch / onnx"
        raise ModnetDependencyError(
            f"converting {checkpoint} to ONNX needs PyTorch and onnx, and {missing} is not "
            "installed: install them (pip install torch onnx), or put an exported "
            f"{ONNX_SUFFIX} file in {checkpoint.parent} instead (made elsewhere with "
            f"python -m modnet.export {checkpoint.name} {checkpoint.stem}{ONNX_SUFFIX})"
        ) from exc
    return export
