"""What the benchmark modes share: a seeded model, an optimizer, the ``--amp`` flag and the batches."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import torch
import torchvision
from torch import nn

from ignite_fire.config import DEFAULTS, RunConfig
from ignite_fire.optim import build_optimizer

Batch = tuple[torch.Tensor, torch.Tensor]
LEARNING_RATES = {"Adam": 1e-3, "AdamW": 1e-3, "SGD": 0.01}  # SGD with the config's default momentum 0.9


def parse_amp(value: Any) -> str | bool:
    """The ``--amp`` flag as :func:`ignite_fire.engines.resolve_amp` takes it ("false", "fp32", ... mean off)."""
    if isinstance(value, str) and value.lower() in ("false", "fp32", "none", "off"):
        return False
    return value


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seeded_model(name: str, num_classes: int, seed: int, device: torch.device) -> nn.Module:
    """A torchvision model (no weights) or ``tiny_cnn``, built after ``torch.manual_seed(seed)``.

    Every contender starts from the same weights; unlike :func:`ignite_fire.models.build_model`
    it reads no config and adds nothing to the torchvision model.
    """
    torch.manual_seed(seed)
    if name == "tiny_cnn":
        model: nn.Module = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(16, num_classes),
        )
    else:
        model = torchvision.models.get_model(name, weights=None, num_classes=num_classes)
    return model.to(device)


def bench_optimizer(name: str, model: nn.Module) -> torch.optim.Optimizer:
    """The framework's optimizer ``name`` (Adam, AdamW or SGD) at the benchmark's fixed learning rate."""
    config = {**DEFAULTS, "optimizer": name, "learning_rate": LEARNING_RATES.get(name, 0.01), "weight_decay": 0.0}
    return build_optimizer(config, model)


def synthetic_batches(
    batch_size: int, image_size: int, num_classes: int, device: torch.device, count: int = 4
) -> Iterator[Batch]:
    """``count`` random batches on ``device``, cycled forever."""
    generator = torch.Generator().manual_seed(0)
    batches = [
        (
            torch.randn(batch_size, 3, image_size, image_size, generator=generator).to(device),
            torch.randint(0, num_classes, (batch_size,), generator=generator).to(device),
        )
        for _ in range(count)
    ]
    return itertools.cycle(batches)


def folder_batches(
    data: str, batch_size: int, image_size: int, num_workers: int | None, cache: bool, device: torch.device
) -> tuple[Iterator[Batch], int]:
    """Training batches of the images under ``data`` through the framework's datasets and loaders, forever."""
    from ignite_fire.data.cache import cache_splits
    from ignite_fire.data.datasets import build_datasets
    from ignite_fire.data.loaders import build_train_loader, reseed_for_epoch
    from ignite_fire.data.transforms import build_transforms

    config = {
        **DEFAULTS,
        "data_dir": data,
        "image_size": image_size,
        "batch_size": batch_size,
        "num_workers": num_workers,
        "cache": "memory" if cache else None,
    }
    splits = build_datasets(config, build_transforms(config))
    settings = RunConfig.from_dict(config)
    splits, options = cache_splits(None, splits, settings, device)
    seed = settings.update.seed
    loader = build_train_loader(
        splits.train, splits.train.targets, batch_size, seed, **{"num_workers": num_workers, **options}
    )

    def forever() -> Iterator[Batch]:
        for epoch in itertools.count(1):
            reseed_for_epoch(loader, seed, epoch)
            yield from loader

    return forever(), len(splits.classes)
