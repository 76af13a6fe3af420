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
from ignite_fire.timm_models import build_timm_model, is_timm_name, timm_architecture
from ignite_fire.weights import load_weights_file

# The smallest image_size of torchvision model families that need more than the schema's 16 px
# (measured: an eval-mode forward pass of 2 images; the other families run at any size >= 1 px).
MIN_IMAGE_SIZE = {"alexnet": 63, "convnext_": 32, "densenet": 29, "vgg": 32, "squeezenet": 17, "inception_v3": 75}
# Families built for one image size only.
FIXED_IMAGE_SIZE = {"vit_": 224, "maxvit_": 224}


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


def check_model_name(name: str, image_size: int) -> None:
    """Refuse, before any data is read, an unknown model (torchvision, or timm/NAME) or an image size it cannot take."""
    if is_timm_name(name):
        timm_architecture(name)  # a one-line error naming close timm models
        return
    if name not in available_models():
        raise _unknown_model_error(name)
    for prefix, size in FIXED_IMAGE_SIZE.items():
        if name.startswith(prefix) and image_size != size:
            raise UserError(f"--image_size={image_size} does not fit {name}: it takes {size} px images only")
    for prefix, size in MIN_IMAGE_SIZE.items():
        if name.startswith(prefix) and image_size < size:
            raise UserError(f"--image_size={image_size} is too small for {name}: it needs --image_size >= {size}")


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
    pretrained = config["pretrained"]
    if is_timm_name(name):
        model = build_timm_model(name, num_classes, pretrained is True, config["drop_rate"], config["drop_path_rate"])
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
    if config["drop_rate"] is not None or config["drop_path_rate"] is not None:
        raise UserError(f"--drop_rate/--drop_path_rate apply to timm models (timm/NAME), not to {name}: unset them")
    if config["pretrained"] is not True:
        return torchvision.models.get_model(name, weights=None, num_classes=num_classes)
    model = torchvision.models.get_model(name, weights=None)
    model.load_state_dict(load_pretrained_state(name))
    return replace_head(model, num_classes)


def first_images(dataset: Any, device: torch.device | str = "cpu", count: int = 2) -> torch.Tensor | None:
    """The first ``count`` images of ``dataset`` (fewer if it is smaller) as one batch (N, C, H, W);
    None when its items are not ``(image tensor, label)`` pairs (a custom dataset: nothing to check)."""
    images = [dataset[i][0] for i in range(min(count, len(dataset)))]
    if not images or not all(isinstance(image, torch.Tensor) for image in images):
        return None
    return torch.stack(images).to(device)


def check_model_output(model: nn.Module, images: torch.Tensor | None, num_classes: int) -> None:
    """One eval-mode forward pass of ``images`` (already on the model's device): the model must return
    a tensor of logits of shape (N, num_classes). Anything else is a one-line UserError, before training.

    The model's train/eval mode is restored; no gradients, no change to its weights or statistics.
    ``images=None`` checks nothing.
    """
    if images is None:
        return
    was_training = model.training
    shape = tuple(images.shape[1:])
    model.eval()
    try:
        with torch.no_grad():
            output = model(images)
    except Exception as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise UserError(
            f"build_model's model fails on {len(images)} images of shape {shape}: {type(error).__name__}: {reason} "
            "(check --image_size and the model)"
        ) from error
    finally:
        model.train(was_training)
    expected = (len(images), num_classes)
    if not isinstance(output, torch.Tensor):
        raise UserError(
            f"build_model's model returns a {type(output).__name__}, not a tensor of logits of shape {expected}: "
            "make its forward return the logits only"
        )
    if tuple(output.shape) != expected:
        raise UserError(
            f"build_model's model returns shape {tuple(output.shape)} for {len(images)} images of shape {shape}, "
            f"not {expected}: give its head num_classes={num_classes} outputs"
        )
