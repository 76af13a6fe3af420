"""pretrained=PATH: a local .pth, .pt or .safetensors file into a torchvision or timm model."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
import torchvision
from safetensors.torch import save_file

from ignite_fire.config import DEFAULTS
from ignite_fire.errors import UserError
from ignite_fire.models import build_model
from ignite_fire.timm_models import build_timm_model


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_a_weights_file_loads_into_a_torchvision_model_with_a_new_head(
    suffix: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = torchvision.models.resnet18(num_classes=10)
    path = tmp_path / f"weights{suffix}"
    if suffix == ".pth":
        torch.save(source.state_dict(), path)
    else:
        save_file(source.state_dict(), str(path))
    with caplog.at_level(logging.INFO, logger="ignite_fire"):
        model = build_model({**DEFAULTS, "model": "resnet18", "pretrained": str(path)}, 5)
    assert torch.equal(model.conv1.weight, source.conv1.weight)
    assert torch.equal(model.layer4[1].bn2.running_mean, source.layer4[1].bn2.running_mean)
    assert model.fc.out_features == 5  # the 10-class head of the file was left out
    assert (
        "loaded 120/122 tensors" in caplog.text and "left out (kept as initialised): fc.bias, fc.weight" in caplog.text
    )


def test_an_ignite_fire_checkpoint_loads_into_a_timm_model(tmp_path: Path) -> None:
    source = build_timm_model("timm/resnet10t", 5)
    path = tmp_path / "best.pt"  # as a checkpoint holds it: under "model", here with a DDP "module." prefix
    torch.save({"model": {f"module.{k}": v for k, v in source.state_dict().items()}, "epoch": 3}, path)
    model = build_model({**DEFAULTS, "model": "timm/resnet10t", "pretrained": str(path)}, 5)
    assert all(
        torch.equal(a, b) for a, b in zip(model.state_dict().values(), source.state_dict().values(), strict=True)
    )


def test_bad_weights_files_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file"):
        build_model({**DEFAULTS, "model": "resnet18", "pretrained": str(tmp_path / "missing.pth")}, 5)
    with pytest.raises(UserError, match=r"expected a \.pth, \.pt, \.safetensors file"):
        build_model({**DEFAULTS, "model": "resnet18", "pretrained": str(tmp_path / "weights.bin")}, 5)
    foreign = tmp_path / "foreign.pt"
    torch.save({"encoder.weight": torch.zeros(3)}, foreign)
    with pytest.raises(UserError, match="none of its 1 tensors fit ResNet"):
        build_model({**DEFAULTS, "model": "resnet18", "pretrained": str(foreign)}, 5)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a safetensors file")
    with pytest.raises(UserError, match="cannot be read"):
        build_model({**DEFAULTS, "model": "resnet18", "pretrained": str(broken)}, 5)
