"""MixUp / CutMix as the trainer's batch transform: soft targets, images mixed within the batch."""

from __future__ import annotations

import pytest
import torch

from ignite_fire.data.mixing import MixBatch, build_batch_transform

IMAGES = torch.stack([torch.full((3, 8, 8), float(i)) for i in range(6)])
TARGETS = torch.tensor([0, 1, 2, 0, 1, 2])


def test_mixup_mixes_each_image_with_its_neighbour_and_its_target() -> None:
    torch.manual_seed(0)
    images, soft = MixBatch(num_classes=3, mixup_alpha=0.4)(IMAGES, TARGETS)
    assert soft.shape == (6, 3) and torch.allclose(soft.sum(dim=1), torch.ones(6))
    lam = soft[0, 0].item()  # image 0 (class 0) is mixed with image 5 (class 2): lam * 0 + (1 - lam) * 5
    assert images[0].mean().item() == pytest.approx((1 - lam) * 5.0, abs=1e-5)
    assert soft[0, 2].item() == pytest.approx(1 - lam, abs=1e-6)


def test_cutmix_pastes_a_box_and_weighs_targets_by_its_area() -> None:
    torch.manual_seed(1)
    images, soft = MixBatch(num_classes=3, cutmix_alpha=1.0)(IMAGES, TARGETS)
    pasted = (images[1] == 0.0).float().mean().item()  # pixels of image 0 pasted into image 1
    assert soft[1, 0].item() == pytest.approx(pasted, abs=1e-6)
    assert soft[1, 1].item() == pytest.approx(1 - pasted, abs=1e-6)


def test_config_switches() -> None:
    assert build_batch_transform({"mixup_alpha": 0.0, "cutmix_alpha": 0.0}, 5) is None
    both = build_batch_transform({"mixup_alpha": 0.2, "cutmix_alpha": 1.0}, 5)
    assert isinstance(both, MixBatch)
    _, soft = both(IMAGES, TARGETS)
    assert soft.shape == (6, 5)
    with pytest.raises(ValueError, match="Arguments mixup_alpha, cutmix_alpha should be >= 0, got -0.1, 0.0"):
        build_batch_transform({"mixup_alpha": -0.1}, 5)
