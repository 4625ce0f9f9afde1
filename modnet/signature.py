"""The input/output signature of a MODNet ONNX model, and how to check one.

A MODNet-like model has one float input (N, 3, H, W) and a float first output (N, 1, H, W).
H and W are either both dynamic (what ``modnet.export`` writes) or both fixed (some third-party
exports use 512 x 512); N is dynamic or fixed. Nothing here imports onnxruntime: the checks work
on anything with ``name``, ``shape`` and ``type`` attributes, as onnxruntime's NodeArg has.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

#: Names that ``modnet.export`` gives the graph's input and output.
INPUT_NAME = "input"
OUTPUT_NAME = "matte"
#: ONNX opset that ``modnet.export`` targets.
ONNX_OPSET = 17

_FLOAT_TENSOR = "tensor(float)"
_RANK = 4
_INPUT_CHANNELS = 3
_OUTPUT_CHANNELS = 1

Dimension = int | str | None


class TensorInfo(Protocol):
    """What onnxruntime tells about one graph input or output."""

    name: str
    shape: Sequence[Dimension]
    type: str


@dataclass(frozen=True)
class ModnetSignature:
    """The facts about a model's signature that inference needs."""

    input_name: str
    output_name: str
    fixed_batch: int | None
    """The batch size the model requires, or None when it takes any."""
    fixed_size: tuple[int, int] | None
    """(height, width) the model requires, or None when both are dynamic."""


class SignatureError(ValueError):
    """The model's inputs or outputs do not look like MODNet's; the message says how."""


def check_modnet_signature(
    inputs: Sequence[TensorInfo], outputs: Sequence[TensorInfo]
) -> ModnetSignature:
    """Check that a model takes (N, 3, H, W) float and returns (N, 1, H, W) float first.

    Raises :class:`SignatureError` describing the first difference found.
    """
    if len(inputs) != 1:
        names = ", ".join(repr(tensor.name) for tensor in inputs) or "none"
        raise SignatureError(
            f"expected exactly one input (N, 3, H, W), found {len(inputs)}: {names}"
        )
    if not outputs:
        raise SignatureError("the model has no outputs")
    image, matte = inputs[0], outputs[0]
    _check_tensor(image, "input", _INPUT_CHANNELS)
    _check_tensor(matte, "first output", _OUTPUT_CHANNELS)
    batch, _, height, width = image.shape
    return ModnetSignature(
        input_name=image.name,
        output_name=matte.name,
        fixed_batch=_fixed_dimension(batch, "batch size"),
        fixed_size=_fixed_size(height, width),
    )


def _check_tensor(tensor: TensorInfo, role: str, channels: int) -> None:
    described = f"{role} {tensor.name!r} ({tensor.type}, shape {list(tensor.shape)})"
    if tensor.type != _FLOAT_TENSOR:
        raise SignatureError(f"{described}: expected {_FLOAT_TENSOR}")
    if len(tensor.shape) != _RANK:
        raise SignatureError(f"{described}: expected 4 dimensions (N, C, H, W)")
    channel_dimension = tensor.shape[1]
    if isinstance(channel_dimension, int) and channel_dimension != channels:
        raise SignatureError(f"{described}: expected {channels} channel(s) in dimension 1")


def _fixed_dimension(dimension: Dimension, what: str) -> int | None:
    if not isinstance(dimension, int):
        return None
    if dimension < 1:
        raise SignatureError(f"the input's {what} is fixed to {dimension}")
    return dimension


def _fixed_size(height: Dimension, width: Dimension) -> tuple[int, int] | None:
    fixed_height = _fixed_dimension(height, "height")
    fixed_width = _fixed_dimension(width, "width")
    if fixed_height is None and fixed_width is None:
        return None
    if fixed_height is None or fixed_width is None:
        raise SignatureError(
            "the input's height and width must be both dynamic or both fixed, "
            f"got {height} x {width}"
        )
    return fixed_height, fixed_width
