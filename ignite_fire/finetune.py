"""Fine-tuning parameter groups: layer-wise LR decay, a head LR scale, no weight decay on norms and biases.

:func:`parameter_groups` turns a model into the optimizer's parameter groups. Each group has a
``name`` (``layer_3``, ``head``, ...), an ``lr`` (``learning_rate * lr_scale``) and a ``weight_decay``:

* ``layer_decay`` (e.g. 0.75): layer ``i`` of ``n`` gets ``lr_scale = layer_decay ** (n - i)``, so the
  head learns at the full rate and the stem at the smallest. timm models are split into layers by
  timm's own helper (``timm.optim.param_groups_layer_decay``, from the model's ``group_matcher``);
  torchvision ResNets and EfficientNets block by block (stem, each residual / MBConv block, head);
* ``head_lr_scale``: the classifier head's LR is multiplied by it;
* ``weight_decay_norm_bias=False`` (the default, as in timm): norm weights, biases and other 1-D
  parameters get no weight decay.

Example::

    groups = parameter_groups(model, learning_rate=1e-3, weight_decay=0.05, layer_decay=0.75)
    optimizer = torch.optim.AdamW(groups)
"""

from __future__ import annotations

import re
from typing import Any

import torch
from torch import nn

from ignite_fire.errors import UserError

# ResNet blocks (layer2.1.conv1.weight), EfficientNet MBConv blocks (features.3.1.block...) and its other stages.
TORCHVISION_BLOCK = re.compile(r"^(layer\d+\.\d+(?=\.)|features\.\d+\.\d+(?=\.block\.)|features\.\d+(?=\.))")


def head_prefixes(model: nn.Module, required: bool = True) -> tuple[str, ...]:
    """Module names of the classifier head: timm's ``pretrained_cfg["classifier"]``, else the last ``nn.Linear``.

    A model without an ``nn.Linear`` has no head to find: a UserError when ``required``, else ``()``.
    """
    config = getattr(model, "pretrained_cfg", None)
    if isinstance(config, dict) and config.get("classifier"):
        classifier = config["classifier"]
        return tuple(classifier) if isinstance(classifier, (list, tuple)) else (classifier,)
    last = None
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            last = name
    if last is None and not required:
        return ()
    if last is None:
        raise UserError(f"cannot find the classifier head of {type(model).__name__} (no nn.Linear)")
    return (last,)


def is_head(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def torchvision_layer_ids(model: nn.Module, head: tuple[str, ...]) -> dict[str, int]:
    """Layer id of each parameter of a torchvision ResNet/EfficientNet: 0 stem, one per block, the head last."""
    import torchvision

    if not isinstance(model, (torchvision.models.ResNet, torchvision.models.EfficientNet)):
        raise UserError(
            f"--layer_decay supports timm models and torchvision ResNets and EfficientNets, not "
            f"{type(model).__name__}: unset it or use a timm/ model"
        )
    blocks: dict[str, int] = {}
    ids: dict[str, int] = {}
    for name, _ in model.named_parameters():
        match = TORCHVISION_BLOCK.match(name)
        if is_head(name, head):
            continue
        if match:
            ids[name] = blocks.setdefault(match.group(1), len(blocks) + 1)
        else:
            ids[name] = 0
    last = len(blocks) + 1
    for name, _ in model.named_parameters():
        ids.setdefault(name, last)
    return ids


def timm_layer_ids(model: nn.Module) -> dict[str, int]:
    """Layer id of each parameter of a timm model, as timm's layer-decay helper assigns them."""
    from timm.optim import param_groups_layer_decay

    names = {id(p): n for n, p in model.named_parameters()}
    groups = param_groups_layer_decay(model, weight_decay=0.0, layer_decay=0.5)
    ids: dict[str, int] = {}
    for group in groups:  # lr_scale = 0.5 ** (last - id): recover the id from the scale
        layer = -round(torch.log2(torch.tensor(float(group["lr_scale"]))).item())
        for parameter in group["params"]:
            ids[names[id(parameter)]] = -layer
    return ids


def layer_ids(model: nn.Module, head: tuple[str, ...]) -> dict[str, int]:
    """Layer ids normalised to 0 (first) .. n (head)."""
    raw = timm_layer_ids(model) if hasattr(model, "pretrained_cfg") else torchvision_layer_ids(model, head)
    low = min(raw.values())
    return {name: value - low for name, value in raw.items()}


def parameter_groups(
    model: nn.Module,
    learning_rate: float,
    weight_decay: float = 0.0,
    layer_decay: float | None = None,
    head_lr_scale: float = 1.0,
    weight_decay_norm_bias: bool = False,
) -> list[dict[str, Any]]:
    """Optimizer parameter groups of ``model`` (only parameters with ``requires_grad``).

    ``layer_decay`` in (0, 1] and ``head_lr_scale`` > 0: the config schema checks them.
    """
    head = head_prefixes(model, required=layer_decay is not None or head_lr_scale != 1)
    ids = layer_ids(model, head) if layer_decay is not None else {}
    last = max(ids.values(), default=0)
    groups: dict[tuple[str, bool], dict[str, Any]] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        if is_head(name, head):
            group_name, scale = "head", head_lr_scale
        elif layer_decay is not None:
            group_name, scale = f"layer_{ids[name]:02d}", layer_decay ** (last - ids[name])
        else:
            group_name, scale = "body", 1.0
        decay = weight_decay_norm_bias or parameter.ndim > 1
        group = groups.setdefault(
            (group_name, decay),
            {
                "name": group_name,
                "params": [],
                "lr": learning_rate * scale,
                "lr_scale": scale,
                "weight_decay": weight_decay if decay else 0.0,
            },
        )
        group["params"].append(parameter)
    return sorted(groups.values(), key=lambda g: (g["name"] == "head", g["name"], g["weight_decay"]))


def describe_groups(groups: list[dict[str, Any]]) -> str:
    """One line per group: name, parameters, lr, weight decay."""
    return "\n".join(
        f"  {g.get('name', i)}: {sum(p.numel() for p in g['params']):,} parameters, lr {g['lr']:.3g}, "
        f"weight_decay {g['weight_decay']:.3g}"
        for i, g in enumerate(groups)
    )


def group_learning_rates(optimizer: torch.optim.Optimizer) -> dict[str, float]:
    """``{"lr/NAME": lr}`` of every named group, for the log and W&B; empty when all groups share one LR scale."""
    rates: dict[str, float] = {}
    scales = set()
    for group in optimizer.param_groups:
        if "name" in group:
            rates[f"lr/{group['name']}"] = float(group["lr"])
            scales.add(round(float(group.get("lr_scale", 1.0)), 12))
    return rates if len(scales) > 1 else {}
