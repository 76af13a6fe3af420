"""Losses: the seed's focal loss and class-weighted cross-entropy, both accepting soft targets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ignite_fire.choices import LOSSES  # the values of config key loss_function (see build_loss)
from ignite_fire.errors import UserError


class FocalLoss(nn.Module):
    alpha: torch.Tensor  # a buffer (register_buffer), declared for the type checker

    """Softmax focal loss, as in the seed: ``alpha * (1 - p_t) ** gamma * CE``.

    Args:
        alpha: a scalar, or one weight per class (indexed by the target class).
        gamma: focusing parameter, >= 0.
        label_smoothing: as in :class:`torch.nn.CrossEntropyLoss`.

    Targets are class indices (N,) or probabilities (N, C) (MixUp/CutMix); with soft targets
    ``p_t`` is the probability the model gives to the target distribution.
    """

    def __init__(self, alpha: float | Sequence[float] = 0.25, gamma: float = 2.0, label_smoothing: float = 0.0) -> None:
        super().__init__()
        if gamma < 0:
            raise ValueError(f"Argument gamma should be >= 0, got {gamma}")
        self.gamma = float(gamma)
        self.label_smoothing = float(label_smoothing)
        alpha_tensor = torch.as_tensor(alpha, dtype=torch.float32)
        self.register_buffer("alpha", alpha_tensor)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logits = logits.float()
        ce = F.cross_entropy(logits, target, reduction="none", label_smoothing=self.label_smoothing)
        p_t = torch.exp(-ce)
        if self.alpha.dim() == 0:
            alpha = self.alpha
        elif target.dim() == 1:
            alpha = self.alpha[target]
        else:
            alpha = target @ self.alpha
        return (alpha * (1 - p_t) ** self.gamma * ce).mean()


def inverse_frequency_weights(class_counts: Sequence[int]) -> list[float]:
    """Weights ``N / (C * n_c)``: each class contributes equally; a class with no images gets 0."""
    total = sum(class_counts)
    num_classes = len(class_counts)
    return [total / (num_classes * n) if n > 0 else 0.0 for n in class_counts]


def class_weights_from_config(config: dict[str, Any], class_counts: Sequence[int]) -> list[float] | None:
    """None, the inverse-frequency weights ("auto"), or the given list (checked by ignite_fire.config)."""
    weights = config["class_weights"]
    if weights is None:
        return None
    if weights == "auto":
        return inverse_frequency_weights(class_counts)
    return [float(w) for w in weights]


def build_loss(config: dict[str, Any], class_counts: Sequence[int]) -> nn.Module:
    """The loss named by ``config["loss_function"]``: CrossEntropyLoss or FocalLoss.

    ``class_weights`` ("auto" or a list) weights cross-entropy; for FocalLoss a per-class
    ``focal_alpha`` list plays that role.
    """
    name = config["loss_function"]
    smoothing = config["label_smoothing"]
    if name == "CrossEntropyLoss":
        weights = class_weights_from_config(config, class_counts)
        weight = torch.tensor(weights, dtype=torch.float32) if weights is not None else None
        return nn.CrossEntropyLoss(weight=weight, label_smoothing=smoothing)
    if name == "FocalLoss":
        return FocalLoss(alpha=config["focal_alpha"], gamma=config["focal_gamma"], label_smoothing=smoothing)
    raise UserError(f"unknown loss_function {name!r}: use one of {', '.join(LOSSES)}")
