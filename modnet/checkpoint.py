"""Loading the official MODNet checkpoint into :class:`modnet.architecture.MODNet`.

The checkpoint is read with ``torch.load(..., weights_only=True)`` (called as
``torch.serialization.load``, past any wrapper a host puts on ``torch.load``): only tensors
and plain containers are unpickled, never arbitrary objects, so a malicious file cannot run code.
The official file is a ``DataParallel`` state dict (every key starts with ``module.``); a plain
state dict without that prefix is accepted too.

This module imports torch; the ONNX inference path must not import it.
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Mapping
from pathlib import Path

import torch

from modnet.architecture import MODNet
from modnet.errors import ModnetModelError

logger = logging.getLogger(__name__)

DATA_PARALLEL_PREFIX = "module."
# Keys torch fills in itself when a (pre-1.0 style) state dict lacks them.
_OPTIONAL_KEY_SUFFIX = ".num_batches_tracked"
_EXAMPLES_IN_MESSAGE = 3


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Read a checkpoint file safely and return its tensors, without the ``module.`` prefix.

    Raises :class:`ModnetModelError` naming the file when it is missing, unreadable, not a
    PyTorch checkpoint, holds anything but tensors, or is not a flat name -> tensor mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise ModnetModelError(path, "checkpoint file not found")
    try:
        # torch.serialization.load is torch.load itself. A host may replace torch.load with
        # a checker of its own (the A1111 WebUI does, and it refuses zip entries that newer
        # torch versions write); weights_only=True is this module's safety guarantee.
        loaded = torch.serialization.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise ModnetModelError(
            path,
            "refused to load: not a plain PyTorch state dict (it is damaged, or it holds Python "
            "objects other than tensors, which are never unpickled here)" + _unsafe_detail(exc),
        ) from exc
    except Exception as exc:  # torch raises many types for damaged files; report them as one
        raise ModnetModelError(
            path, f"not a readable PyTorch checkpoint (corrupt or truncated?): {_first_line(exc)}"
        ) from exc
    return _strip_data_parallel_prefix(path, _as_tensor_mapping(path, loaded))


def load_modnet_checkpoint(path: str | os.PathLike[str]) -> MODNet:
    """Build a :class:`MODNet` in eval mode from a checkpoint file, loading it strictly.

    Raises :class:`ModnetModelError` naming the file and a few of the missing, unexpected or
    mis-shaped keys when the checkpoint does not fit the architecture.
    """
    path = Path(path)
    state_dict = read_state_dict(path)
    model = MODNet()
    problem = describe_key_mismatch(model.state_dict(), state_dict)
    if problem:
        raise ModnetModelError(path, f"not a MODNet checkpoint: {problem}")
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as exc:
        raise ModnetModelError(path, f"could not load the weights: {_first_line(exc)}") from exc
    logger.debug("loaded MODNet weights from %s (%d tensors)", path, len(state_dict))
    return model.eval()


def describe_key_mismatch(
    expected: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor]
) -> str:
    """Describe how ``found`` differs from ``expected`` (names and shapes); '' if it fits."""
    missing = [
        key for key in expected if key not in found and not key.endswith(_OPTIONAL_KEY_SUFFIX)
    ]
    unexpected = [key for key in found if key not in expected]
    misshapen = [
        f"{key} {list(found[key].shape)} instead of {list(expected[key].shape)}"
        for key in expected
        if key in found and found[key].shape != expected[key].shape
    ]
    parts = [
        _summarise(missing, "missing key", "missing keys"),
        _summarise(unexpected, "unexpected key", "unexpected keys"),
        _summarise(misshapen, "key with the wrong shape", "keys with the wrong shape"),
    ]
    return "; ".join(part for part in parts if part)


def _as_tensor_mapping(path: Path, loaded: object) -> dict[str, torch.Tensor]:
    if not isinstance(loaded, Mapping):
        raise ModnetModelError(
            path, f"not a state dict: the file holds a {type(loaded).__name__}, not a mapping"
        )
    if not all(isinstance(key, str) for key in loaded):
        raise ModnetModelError(path, "not a state dict: its keys are not all strings")
    not_tensors = [key for key, value in loaded.items() if not isinstance(value, torch.Tensor)]
    if not_tensors:
        raise ModnetModelError(
            path,
            "not a flat state dict of tensors: "
            + _summarise(not_tensors, "entry that is not a tensor", "entries that are not tensors"),
        )
    return dict(loaded)


def _strip_data_parallel_prefix(
    path: Path, state_dict: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    if not state_dict:
        raise ModnetModelError(path, "the checkpoint is an empty state dict")
    if not all(key.startswith(DATA_PARALLEL_PREFIX) for key in state_dict):
        return state_dict  # a plain state dict, or a mixed one that the strict load reports
    return {key[len(DATA_PARALLEL_PREFIX) :]: value for key, value in state_dict.items()}


def _summarise(items: list[str], singular: str, plural: str) -> str:
    """'2 missing keys (a, b)': the count, the noun, and the first few items."""
    if not items:
        return ""
    shown = ", ".join(items[:_EXAMPLES_IN_MESSAGE])
    hidden = len(items) - _EXAMPLES_IN_MESSAGE
    more = f", ... and {hidden} more" if hidden > 0 else ""
    return f"{len(items)} {singular if len(items) == 1 else plural} ({shown}{more})"


def _unsafe_detail(exc: BaseException) -> str:
    """The line of a weights-only refusal that names what was refused, if there is one."""
    for line in str(exc).splitlines():
        if "Unsupported" in line:
            # keep "Unsupported global: GLOBAL x.y", drop torch's advice on allowlisting it
            return ": " + line.strip().split(" was not an allowed global")[0].split(". ")[0]
    return ""


def _first_line(exc: BaseException) -> str:
    """'TypeName: first sentence of the message', on one line."""
    lines = str(exc).strip().splitlines()
    first_sentence = lines[0].split(". ")[0] if lines else ""
    return f"{type(exc).__name__}: {first_sentence}" if first_sentence else type(exc).__name__
