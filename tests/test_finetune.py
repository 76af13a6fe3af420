"""Parameter groups: layer-wise LR decay, head LR scale, no weight decay on norms and biases."""

from __future__ import annotations

import pytest
import timm
import torch
import torchvision

from ignite_fire.config import DEFAULTS
from ignite_fire.errors import UserError
from ignite_fire.finetune import parameter_groups
from ignite_fire.optim import build_optimizer


def lr_of(groups: list[dict], name: str) -> float:
    return next(g["lr"] for g in groups if g["name"] == name)


@pytest.mark.parametrize(
    "model",
    [
        lambda: torchvision.models.resnet18(num_classes=3),
        lambda: torchvision.models.efficientnet_b0(num_classes=3),
        lambda: timm.create_model("convnext_atto", num_classes=3),
    ],
    ids=["resnet18", "efficientnet_b0", "timm-convnext_atto"],
)
def test_layer_decay_scales_each_block_below_the_head(model) -> None:
    model = model()
    groups = parameter_groups(model, 0.01, weight_decay=0.05, layer_decay=0.5, head_lr_scale=3.0)
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))  # every parameter, once
    layers = sorted({g["name"] for g in groups if g["name"].startswith("layer_")})
    assert len(layers) >= 5
    assert lr_of(groups, "head") == pytest.approx(0.03)
    rates = [lr_of(groups, name) for name in layers]
    assert all(b == pytest.approx(2 * a) for a, b in zip(rates, rates[1:], strict=False))  # 0.5 per layer
    assert rates[-1] <= 0.01


def test_resnet_blocks_are_layers_in_order() -> None:
    model = torchvision.models.resnet18(num_classes=3)
    groups = parameter_groups(model, 1.0, layer_decay=0.5)
    names = {id(p): n for n, p in model.named_parameters()}
    by_group: dict[str, set[str]] = {}
    for group in groups:
        by_group.setdefault(group["name"], set()).update(names[id(p)] for p in group["params"])
    assert by_group["layer_00"] == {"conv1.weight", "bn1.weight", "bn1.bias"}
    assert any(n.startswith("layer1.0") for n in by_group["layer_01"])
    assert any(n.startswith("layer4.1") for n in by_group["layer_08"])
    assert len([n for n in by_group if n.startswith("layer_")]) == 9  # stem + 8 basic blocks


def test_norms_and_biases_get_no_weight_decay_by_default() -> None:
    model = torchvision.models.resnet18(num_classes=3)
    names = {id(p): n for n, p in model.named_parameters()}
    groups = parameter_groups(model, 0.01, weight_decay=0.05)
    for group in groups:
        for parameter in group["params"]:
            expected = 0.0 if parameter.ndim <= 1 else 0.05
            assert group["weight_decay"] == expected, names[id(parameter)]
    everything = parameter_groups(model, 0.01, weight_decay=0.05, weight_decay_norm_bias=True)
    assert {g["weight_decay"] for g in everything} == {0.05}


def test_build_optimizer_uses_the_groups() -> None:
    model = torchvision.models.resnet18(num_classes=3)
    config = {**DEFAULTS, "optimizer": "AdamW", "learning_rate": 0.01, "weight_decay": 0.05, "layer_decay": 0.8}
    config["head_lr_scale"] = 2
    optimizer = build_optimizer(config, model)
    assert isinstance(optimizer, torch.optim.AdamW)
    assert max(g["lr"] for g in optimizer.param_groups) == pytest.approx(0.02)
    assert min(g["lr"] for g in optimizer.param_groups) == pytest.approx(0.01 * 0.8**9)


def test_layer_decay_on_an_unsupported_torchvision_model_is_a_one_line_error() -> None:
    with pytest.raises(UserError, match="torchvision ResNets and EfficientNets, not MobileNetV3"):
        parameter_groups(torchvision.models.mobilenet_v3_small(num_classes=3), 0.01, layer_decay=0.75)


def test_a_model_without_a_linear_head_needs_one_only_for_head_or_layer_rates() -> None:
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    groups = parameter_groups(model, 0.01, weight_decay=0.05)
    assert {g["name"] for g in groups} == {"body"} and sum(len(g["params"]) for g in groups) == 2
    with pytest.raises(UserError, match="cannot find the classifier head of Sequential"):
        parameter_groups(model, 0.01, head_lr_scale=2.0)
