"""Network input size, scaling to [-1, 1], and resizing the matte back."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from modnet.preprocess import (
    MAX_NETWORK_SIDE,
    matte_to_image_size,
    network_input_size,
    to_network_input,
)


@pytest.mark.parametrize(
    ("image_size", "network_size"),
    [
        ((720, 720), (512, 512)),  # a FacePop face crop
        ((512, 512), (512, 512)),
        ((100, 100), (512, 512)),  # small images are enlarged
        ((1080, 1920), (512, 896)),  # 910.2 rounds to 896
        ((600, 1000), (512, 864)),  # 853.3 rounds to 864
        ((37, 101), (512, 1408)),
        ((10, 1000), (32, 2048)),  # the long side is capped
    ],
)
def test_network_input_size_examples(
    image_size: tuple[int, int], network_size: tuple[int, int]
) -> None:
    assert network_input_size(*image_size) == network_size


@given(
    height=st.integers(min_value=8, max_value=16384),
    width=st.integers(min_value=8, max_value=16384),
    short_side=st.sampled_from([128, 256, 320, 512]),
)
def test_network_input_size_properties(height: int, width: int, short_side: int) -> None:
    net_height, net_width = network_input_size(height, width, short_side=short_side)

    assert net_height % 32 == 0
    assert net_width % 32 == 0
    assert min(net_height, net_width) >= 32
    assert max(net_height, net_width) <= MAX_NETWORK_SIDE
    if max(height, width) / min(height, width) <= MAX_NETWORK_SIDE / short_side:
        # not capped: the short side lands on the nearest multiple of 32
        assert abs(min(net_height, net_width) - short_side) <= 16
    # one scale for both sides: the orientation is kept
    if height >= width:
        assert net_height >= net_width
    if width >= height:
        assert net_width >= net_height


def test_network_input_is_channels_first_and_scaled_to_unit_range() -> None:
    rgb = np.zeros((64, 64, 3), dtype=np.uint8)
    rgb[..., 0] = 255  # red
    rgb[:32, :, 1] = 255  # green in the top half

    tensor = to_network_input(rgb, (64, 64))

    assert tensor.shape == (3, 64, 64)
    assert tensor.dtype == np.float32
    assert tensor.flags.c_contiguous
    np.testing.assert_array_equal(tensor[0], 1.0)
    np.testing.assert_array_equal(tensor[1, :32], 1.0)
    np.testing.assert_array_equal(tensor[1, 32:], -1.0)
    np.testing.assert_array_equal(tensor[2], -1.0)


def test_network_input_is_resized() -> None:
    rgb = np.full((720, 360, 3), 128, dtype=np.uint8)

    tensor = to_network_input(rgb, (1024, 512))

    assert tensor.shape == (3, 1024, 512)
    np.testing.assert_allclose(tensor, 0.5 / 127.5, atol=1e-6)


@pytest.mark.parametrize("size", [(720, 720), (37, 101), (512, 512)])
def test_matte_is_resized_to_the_image_and_clipped(size: tuple[int, int]) -> None:
    matte = np.linspace(-0.5, 1.5, 512 * 512, dtype=np.float32).reshape(512, 512)

    resized = matte_to_image_size(matte, size)

    assert resized.shape == size
    assert resized.dtype == np.float32
    assert float(resized.min()) == 0.0
    assert float(resized.max()) == 1.0
