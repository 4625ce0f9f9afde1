"""Which ONNX input/output signatures count as MODNet-like."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from modnet.signature import ModnetSignature, SignatureError, check_modnet_signature


@dataclass
class Tensor:
    name: str
    shape: list[int | str | None]
    type: str = "tensor(float)"


def test_dynamic_export_is_accepted() -> None:
    signature = check_modnet_signature(
        [Tensor("input", ["batch", 3, "height", "width"])],
        [Tensor("matte", ["batch", 1, "height", "width"])],
    )

    assert signature == ModnetSignature("input", "matte", fixed_batch=None, fixed_size=None)


def test_fixed_size_export_is_accepted() -> None:
    signature = check_modnet_signature(
        [Tensor("img", [1, 3, 512, 384])], [Tensor("alpha", [1, 1, 512, 384])]
    )

    assert signature == ModnetSignature("img", "alpha", fixed_batch=1, fixed_size=(512, 384))


def test_only_the_first_output_is_used() -> None:
    signature = check_modnet_signature(
        [Tensor("input", [None, 3, None, None])],
        [Tensor("output", [None, 1, None, None]), Tensor("extra", [None, 7])],
    )

    assert signature.output_name == "output"


@pytest.mark.parametrize(
    ("inputs", "outputs", "message"),
    [
        ([], [Tensor("m", ["n", 1, "h", "w"])], "expected exactly one input"),
        (
            [Tensor("a", ["n", 3, "h", "w"]), Tensor("b", ["n", 3, "h", "w"])],
            [Tensor("m", ["n", 1, "h", "w"])],
            "found 2: 'a', 'b'",
        ),
        ([Tensor("a", ["n", 3, "h", "w"])], [], "no outputs"),
        (
            [Tensor("a", ["n", 1, "h", "w"])],
            [Tensor("m", ["n", 1, "h", "w"])],
            "input 'a' .* expected 3 channel",
        ),
        (
            [Tensor("a", ["n", 3, "h", "w"], "tensor(uint8)")],
            [Tensor("m", ["n", 1, "h", "w"])],
            r"expected tensor\(float\)",
        ),
        (
            [Tensor("a", ["n", "h", "w", 3, 1])],
            [Tensor("m", ["n", 1, "h", "w"])],
            "expected 4 dimensions",
        ),
        (
            [Tensor("a", ["n", 3, "h", "w"])],
            [Tensor("m", ["n", 3, "h", "w"])],
            "first output 'm' .* expected 1 channel",
        ),
        (
            [Tensor("a", ["n", 3, 512, "w"])],
            [Tensor("m", ["n", 1, "h", "w"])],
            "both dynamic or both fixed",
        ),
        ([Tensor("a", [0, 3, "h", "w"])], [Tensor("m", [0, 1, "h", "w"])], "batch size is fixed"),
    ],
)
def test_signatures_unlike_modnet_are_rejected(
    inputs: list[Tensor], outputs: list[Tensor], message: str
) -> None:
    with pytest.raises(SignatureError, match=message):
        check_modnet_signature(inputs, outputs)
