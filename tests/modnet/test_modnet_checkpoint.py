"""Loading checkpoints: the official layout, safety, and the errors for bad files."""

from __future__ import annotations

import pathlib
import re
from pathlib import Path

import pytest
import torch

from modnet.architecture import MODNet
from modnet.checkpoint import load_modnet_checkpoint, read_state_dict
from modnet.errors import ModnetModelError


def matte_of(model: MODNet) -> torch.Tensor:
    image = torch.linspace(-1, 1, 3 * 64 * 64).reshape(1, 3, 64, 64)
    with torch.no_grad():
        return model(image)


def test_official_data_parallel_layout_loads_strictly(
    official_layout_checkpoint: Path, random_modnet: MODNet
) -> None:
    raw = torch.load(official_layout_checkpoint, weights_only=True)
    assert all(key.startswith("module.") for key in raw)

    loaded = load_modnet_checkpoint(official_layout_checkpoint)

    assert not loaded.training
    assert torch.equal(matte_of(loaded), matte_of(random_modnet))


def test_plain_state_dict_without_prefix_loads(tmp_path: Path, random_modnet: MODNet) -> None:
    path = tmp_path / "plain.ckpt"
    torch.save(random_modnet.state_dict(), path)

    assert torch.equal(matte_of(load_modnet_checkpoint(path)), matte_of(random_modnet))


def test_checkpoint_without_num_batches_tracked_loads(
    tmp_path: Path, random_modnet: MODNet
) -> None:
    # what a checkpoint written by torch < 0.4.1 looks like; torch fills these buffers in
    path = tmp_path / "old.ckpt"
    state = {
        f"module.{key}": value
        for key, value in random_modnet.state_dict().items()
        if not key.endswith("num_batches_tracked")
    }
    torch.save(state, path)

    assert torch.equal(matte_of(load_modnet_checkpoint(path)), matte_of(random_modnet))


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "absent.ckpt"

    with pytest.raises(ModnetModelError, match=r"absent\.ckpt: checkpoint file not found") as info:
        load_modnet_checkpoint(path)
    assert info.value.path == path


def _truncated(path: Path, valid: bytes) -> None:
    path.write_bytes(valid[: len(valid) // 2])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a readable PyTorch checkpoint"),
        (b"this is not a checkpoint at all", "not a readable PyTorch checkpoint"),
        (bytes(range(256)) * 8, "refused to load: not a plain PyTorch state dict"),
        ("truncated", "not a readable PyTorch checkpoint"),
    ],
    ids=["empty", "text", "binary-garbage", "truncated"],
)
def test_corrupt_file_gives_a_clear_error(
    tmp_path: Path, official_layout_checkpoint: Path, content: bytes | str, message: str
) -> None:
    path = tmp_path / "broken.ckpt"
    if content == "truncated":
        _truncated(path, official_layout_checkpoint.read_bytes())
    else:
        path.write_bytes(content)

    with pytest.raises(ModnetModelError, match=re.escape(f"{path}: {message}")):
        load_modnet_checkpoint(path)


class _RunsCodeWhenUnpickled:
    """Unpickling this with plain pickle would create a marker file."""

    marker: Path

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (pathlib.Path.touch, (self.marker,))


def test_pickled_objects_are_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    path = tmp_path / "malicious.ckpt"
    torch.save({"module.x": torch.zeros(1), "payload": _RunsCodeWhenUnpickled(marker)}, path)

    with pytest.raises(ModnetModelError, match="refused to load") as info:
        load_modnet_checkpoint(path)

    assert not marker.exists()
    assert "Unsupported global" in str(info.value)
    assert "\n" not in str(info.value)


def test_a_file_that_is_not_a_mapping_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "list.ckpt"
    torch.save([torch.zeros(1)], path)

    with pytest.raises(ModnetModelError, match="not a state dict: the file holds a list"):
        read_state_dict(path)


def test_a_mapping_holding_non_tensors_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "training-state.ckpt"
    torch.save({"epoch": 3, "module.x": torch.zeros(1)}, path)

    with pytest.raises(ModnetModelError, match=r"1 entry that is not a tensor \(epoch\)"):
        read_state_dict(path)


def test_wrong_keys_are_listed(tmp_path: Path, random_modnet: MODNet) -> None:
    state = {f"module.{key}": value for key, value in random_modnet.state_dict().items()}
    del state["module.f_branch.conv_f.1.layers.0.weight"]
    del state["module.f_branch.conv_f.1.layers.0.bias"]
    state["module.f_branch.extra.weight"] = torch.zeros(1)
    path = tmp_path / "edited.ckpt"
    torch.save(state, path)

    with pytest.raises(ModnetModelError) as info:
        load_modnet_checkpoint(path)

    message = str(info.value)
    assert message.startswith(f"{path}: not a MODNet checkpoint: ")
    assert (
        "2 missing keys (f_branch.conv_f.1.layers.0.weight, f_branch.conv_f.1.layers.0.bias)"
        in message
    )
    assert "1 unexpected key (f_branch.extra.weight)" in message


def test_many_missing_keys_are_summarised(tmp_path: Path) -> None:
    path = tmp_path / "other-model.ckpt"
    torch.save({"module.conv.weight": torch.zeros(2, 3, 3, 3)}, path)

    # 751 keys less the 121 optional num_batches_tracked buffers
    with pytest.raises(ModnetModelError, match=r"630 missing keys \(.*, \.\.\. and 627 more\)"):
        load_modnet_checkpoint(path)


def test_wrong_shapes_are_listed(tmp_path: Path, random_modnet: MODNet) -> None:
    state = dict(random_modnet.state_dict())
    state["lr_branch.se_block.fc.0.weight"] = torch.zeros(160, 1280)
    path = tmp_path / "reshaped.ckpt"
    torch.save(state, path)

    with pytest.raises(
        ModnetModelError,
        match=re.escape("lr_branch.se_block.fc.0.weight [160, 1280] instead of [320, 1280]"),
    ):
        load_modnet_checkpoint(path)


def test_a_host_wrapper_on_torch_load_does_not_stop_a_weights_only_load(
    official_layout_checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The A1111 WebUI replaces torch.load by a checker that returns None for files it
    # refuses, among them zip entries newer torch versions write; weights_only=True is ours.
    monkeypatch.setattr(torch, "load", lambda *args, **kwargs: None)

    model = load_modnet_checkpoint(official_layout_checkpoint)

    assert isinstance(model, torch.nn.Module)
