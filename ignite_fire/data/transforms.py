"""Train and eval transforms; images are PIL RGB with EXIF orientation already applied."""

from __future__ import annotations

from typing import Any

import torch
from torchvision import transforms as T

from ignite_fire.choices import IMAGENET_MEAN, IMAGENET_STD, resize_size
from ignite_fire.config import RunConfig
from ignite_fire.data.augment import policies_of


def build_transforms(config: dict[str, Any]) -> tuple[T.Compose, T.Compose]:
    """(train, eval) transforms at ``config["image_size"]``.

    train: RandomResizedCrop, horizontal flip, the ``augment`` policy, optional colour jitter
    (``color_jitter`` > 0), then after normalising optional RandomErasing (``random_erasing``);
    eval: resize the shorter side to ``image_size / EVAL_CROP`` (0.875), centre crop. Both normalise with
    the ImageNet mean and std.
    """
    size = config["image_size"]
    normalize = T.Normalize(IMAGENET_MEAN, IMAGENET_STD)
    jitter = config["color_jitter"]
    policy, erasing = policies_of(RunConfig.from_dict(config).augmentation)  # augment, random_erasing
    train = [T.RandomResizedCrop(size, scale=(0.35, 1.0), antialias=True), T.RandomHorizontalFlip()]
    train += [policy] if policy is not None else []
    if jitter > 0:
        train.append(T.ColorJitter(jitter, jitter, jitter))
    train += [T.ToTensor(), normalize]
    train += [erasing] if erasing is not None else []
    evaluate = [T.Resize(resize_size(size), antialias=True), T.CenterCrop(size), T.ToTensor(), normalize]
    return T.Compose(train), T.Compose(evaluate)


def denormalize(images: torch.Tensor, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> torch.Tensor:
    """Undo the normalisation: (N, 3, H, W) or (3, H, W) float in [0, 1]."""
    shape = (-1, 1, 1)
    mean_t = torch.tensor(mean, dtype=images.dtype, device=images.device).view(shape)
    std_t = torch.tensor(std, dtype=images.dtype, device=images.device).view(shape)
    return (images * std_t + mean_t).clamp(0, 1)
