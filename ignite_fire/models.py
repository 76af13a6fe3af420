"""Model construction: any torchvision classification model, or a timm one as ``timm/NAME`` (see
:mod:`ignite_fire.timm_models`), with a new head for ``num_classes``.

Pretrained ImageNet weights are read from the local torch hub cache
(``$TORCH_HOME/hub/checkpoints``, by default ``~/.cache/torch/hub/checkpoints``). Nothing is
downloaded unless ``IGNITE_FIRE_DOWNLOAD_WEIGHTS=1`` is set: offline is the normal case, and a
missing file is a one-line error that says where to put it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
import torchvision
from torch import nn

from ignite_fire.errors import UserError
from ignite_fire.timm_models import build_timm_model, is_timm_name
from ignite_fire.weights import load_weights_file


def available_models() -> list[str]:
    return sorted(torchvision.models.list_models(module=torchvision.models))


def weights_cache_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def _unknown_model_error(name: str) -> UserError:
    import difflib

    names = available_models()
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.4)
    examples = close or ["resnet18", "resnet50", "efficientnet_b0", "convnext_tiny", "mobilenet_v3_large"]
    return UserError(
        f"unknown model {name!r}: try one of {', '.join(examples)} (any torchvision classification model, "
        "or timm/NAME for a timm one)"
    )


def load_pretrained_state(name: str) -> dict[str, torch.Tensor]:
    """The default ImageNet weights of torchvision model ``name``, from the local cache."""
    try:
        weights = torchvision.models.get_model_weights(name).DEFAULT
    except (ValueError, KeyError) as error:
        raise UserError(f"model {name!r} has no pretrained weights in torchvision; pass --pretrained=False") from error
    filename = os.path.basename(weights.url)
    path = weights_cache_dir() / filename
    if not path.exists():
        if os.environ.get("IGNITE_FIRE_DOWNLOAD_WEIGHTS") == "1":
            return weights.get_state_dict(progress=False, check_hash=True)
        raise UserError(
            f"pretrained weights for {name} are not cached: put {filename} (from {weights.url}) in "
            f"{path.parent}, set IGNITE_FIRE_DOWNLOAD_WEIGHTS=1 to download them, or pass --pretrained=False"
        )
    return torch.load(path, map_location="cpu", weights_only=True)


def replace_head(model: nn.Module, num_classes: int) -> nn.Module:
    """Replace the last ``nn.Linear`` of ``model`` by a fresh one with ``num_classes`` outputs."""
    last_name = None
    for module_name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            last_name = module_name
    if last_name is None:
        raise UserError(f"cannot find a linear classifier head in {type(model).__name__}; define build_model")
    parent_name, _, attribute = last_name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    old = getattr(parent, attribute)
    setattr(parent, attribute, nn.Linear(old.in_features, num_classes, bias=old.bias is not None))
    return model


def build_model(config: dict[str, Any], num_classes: int) -> nn.Module:
    """Model ``config["model"]`` (torchvision, or timm as ``timm/NAME``) with ``num_classes`` outputs.

    ``pretrained``: True loads the ImageNet weights (from the cache) and replaces the head; a path
    loads a local .pth/.pt/.safetensors file (:mod:`ignite_fire.weights`); False builds from scratch.
    """
    name = config["model"]
    pretrained = config.get("pretrained", False)
    if is_timm_name(name):
        model = build_timm_model(
            name, num_classes, pretrained is True, config.get("drop_rate"), config.get("drop_path_rate")
        )
    else:
        model = build_torchvision_model(config, num_classes)
    if isinstance(pretrained, str) and pretrained not in ("", "False", "None"):
        load_weights_file(model, pretrained)
    return model


def build_torchvision_model(config: dict[str, Any], num_classes: int) -> nn.Module:
    """torchvision model ``config["model"]``; with ``pretrained=True`` its ImageNet weights and a new head."""
    name = config["model"]
    if name not in available_models():
        raise _unknown_model_error(name)
    if config.get("drop_rate") is not None or config.get("drop_path_rate") is not None:
        raise UserError(f"--drop_rate/--drop_path_rate apply to timm models (timm/NAME), not to {name}: unset them")
    if config.get("pretrained", False) is not True:
        return torchvision.models.get_model(name, weights=None, num_classes=num_classes)
    model = torchvision.models.get_model(name, weights=None)
    model.load_state_dict(load_pretrained_state(name))
    return replace_head(model, num_classes)
