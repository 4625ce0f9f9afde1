"""MODNet's module tree: parameter names and shapes, and what its forward pass returns."""

from __future__ import annotations

from pathlib import Path

import torch

from modnet.architecture import MODNet

FIXTURES = Path(__file__).parent / "fixtures"


def read_official_keys() -> dict[str, list[int]]:
    """key -> shape from the fixture derived from the official source (see its generator)."""
    entries: dict[str, list[int]] = {}
    for line in (FIXTURES / "official_state_dict_keys.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            key, shape = line.split("\t")
            entries[key] = [int(part) for part in shape.strip("[]").split(",") if part.strip()]
    return entries


def test_state_dict_keys_and_shapes_equal_the_official_checkpoint() -> None:
    official = read_official_keys()
    ours = {f"module.{key}": list(value.shape) for key, value in MODNet().state_dict().items()}

    assert len(official) == 751
    assert sorted(set(official) - set(ours)) == []
    assert sorted(set(ours) - set(official)) == []
    assert {key: shape for key, shape in ours.items() if official[key] != shape} == {}


def test_the_encoder_is_one_module_registered_under_two_names() -> None:
    model = MODNet()

    assert model.lr_branch.backbone is model.backbone
    # parameters() counts shared tensors once: ~6.5 M, as the official 25 MB checkpoint holds
    assert sum(p.numel() for p in model.parameters()) == 6_487_075


def test_forward_returns_one_matte_channel_in_unit_range(random_modnet: MODNet) -> None:
    image = torch.rand(2, 3, 64, 96) * 2 - 1

    with torch.no_grad():
        matte = random_modnet(image)

    assert matte.shape == (2, 1, 64, 96)
    assert float(matte.min()) >= 0.0
    assert float(matte.max()) <= 1.0
    assert float(matte.std()) > 0.01  # not a constant: the random weights exercise the graph


def test_training_only_heads_do_not_change_the_matte(random_modnet: MODNet) -> None:
    model = MODNet()
    model.load_state_dict(random_modnet.state_dict())
    model.eval()
    image = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        before = model(image)
        for head in (model.lr_branch.conv_lr, model.hr_branch.conv_hr):
            for parameter in head.parameters():
                parameter.add_(1.0)
        after = model(image)

    assert torch.equal(before, after)
