"""Imbalance tools in the loss: the seed's focal loss (scalar or per-class alpha, soft targets),
inverse-frequency class weights, label smoothing, and their config errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ignite_fire.experiment import resolve_config
from ignite_fire.losses import FocalLoss, build_loss, inverse_frequency_weights

torch.manual_seed(0)
LOGITS = torch.randn(12, 5) * 3
TARGETS = torch.tensor([0, 1, 2, 3, 4, 3, 3, 3, 2, 1, 3, 0])


def seed_focal_loss(inputs: torch.Tensor, targets: torch.Tensor, alpha: float = 0.25, gamma: float = 2) -> torch.Tensor:
    """The seed document's FocalLoss.forward, verbatim."""
    ce_loss = nn.functional.cross_entropy(inputs, targets, reduction="none")
    pt = torch.exp(-ce_loss)
    return (alpha * (1 - pt) ** gamma * ce_loss).mean()


def test_focal_loss_is_the_seeds() -> None:
    assert FocalLoss()(LOGITS, TARGETS).item() == pytest.approx(seed_focal_loss(LOGITS, TARGETS).item(), rel=1e-6)
    got = FocalLoss(alpha=0.5, gamma=1.0)(LOGITS, TARGETS).item()
    assert got == pytest.approx(seed_focal_loss(LOGITS, TARGETS, 0.5, 1.0).item(), rel=1e-6)


def test_focal_loss_with_gamma_0_and_alpha_1_is_cross_entropy() -> None:
    assert FocalLoss(alpha=1.0, gamma=0.0)(LOGITS, TARGETS).item() == pytest.approx(
        F.cross_entropy(LOGITS, TARGETS).item(), rel=1e-6
    )


def test_per_class_alpha_weighs_each_sample_by_its_class() -> None:
    alpha = [2.0, 1.5, 1.0, 0.25, 1.0]
    ce = F.cross_entropy(LOGITS, TARGETS, reduction="none")
    expected = (torch.tensor(alpha)[TARGETS] * (1 - torch.exp(-ce)) ** 2 * ce).mean()
    assert FocalLoss(alpha=alpha)(LOGITS, TARGETS).item() == pytest.approx(expected.item(), rel=1e-6)


def test_one_hot_soft_targets_give_the_hard_target_loss() -> None:
    one_hot = F.one_hot(TARGETS, 5).float()
    for loss in (FocalLoss(), FocalLoss(alpha=[2.0, 1.5, 1.0, 0.25, 1.0], label_smoothing=0.1)):
        assert loss(LOGITS, one_hot).item() == pytest.approx(loss(LOGITS, TARGETS).item(), rel=1e-5)


def test_focal_loss_rejects_negative_gamma() -> None:
    with pytest.raises(ValueError, match="Argument gamma should be >= 0, got -1"):
        FocalLoss(gamma=-1)


def test_inverse_frequency_weights_make_every_class_count_equally() -> None:
    counts = [100, 400, 500, 2000, 170]
    weights = inverse_frequency_weights(counts)
    contributions = [w * n for w, n in zip(weights, counts, strict=True)]
    assert contributions == pytest.approx([sum(counts) / 5] * 5)
    assert inverse_frequency_weights([3, 0]) == [pytest.approx(0.5), 0.0]


def config(**values) -> dict:
    return resolve_config(values, "test")


def test_build_loss_class_weights_auto_and_label_smoothing() -> None:
    counts = [10, 40, 50]
    loss = build_loss(config(class_weights="auto", label_smoothing=0.1), counts)
    assert isinstance(loss, nn.CrossEntropyLoss) and loss.label_smoothing == 0.1
    assert loss.weight.tolist() == pytest.approx(inverse_frequency_weights(counts))
    explicit = build_loss(config(class_weights=[1, 2, 3]), counts)
    assert explicit.weight.tolist() == [1.0, 2.0, 3.0]
    assert build_loss(config(), counts).weight is None


def test_weighted_cross_entropy_raises_the_rare_class_loss() -> None:
    logits, targets = LOGITS[:, :3], TARGETS.clamp(max=2)
    plain = build_loss(config(), [5, 50, 50])(logits, targets)
    weighted = build_loss(config(class_weights="auto"), [5, 50, 50])
    per_sample = F.cross_entropy(logits, targets, reduction="none")
    w = weighted.weight[targets]
    assert weighted(logits, targets).item() == pytest.approx(((w * per_sample).sum() / w.sum()).item(), rel=1e-6)
    assert weighted(logits, targets).item() != pytest.approx(plain.item())


def test_build_focal_loss_from_config() -> None:
    loss = build_loss(config(loss_function="FocalLoss", focal_alpha=[1, 2, 3], focal_gamma=1.5), [1, 1, 1])
    assert isinstance(loss, FocalLoss) and loss.alpha.tolist() == [1.0, 2.0, 3.0] and loss.gamma == 1.5
