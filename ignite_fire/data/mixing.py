"""MixUp and CutMix of whole training batches (torchvision's transforms v2), on the training device.

They run as :func:`ignite_fire.engines.create_trainer`'s ``batch_transform``, after the batch is on
the device, and turn the class indices into soft targets (N, C); both of the framework's losses
accept those. Validation is never mixed.

Example::

    mix = MixBatch(num_classes=5, mixup_alpha=0.2, cutmix_alpha=1.0)
    trainer = create_trainer(model, optimizer, loss_fn, device, batch_transform=mix)
"""

from __future__ import annotations

from typing import Any

import torch
from torchvision.transforms import v2


class MixBatch:
    """Mix each training batch with MixUp or CutMix (one of the two, at random, when both are on).

    Args:
        num_classes: number of classes (the width of the soft targets).
        mixup_alpha: MixUp's Beta(alpha, alpha) parameter; 0 turns MixUp off.
        cutmix_alpha: CutMix's Beta(alpha, alpha) parameter; 0 turns CutMix off.

    Random draws use torch's global generator, so a seeded run mixes the same way every time.
    """

    def __init__(self, num_classes: int, mixup_alpha: float = 0.0, cutmix_alpha: float = 0.0) -> None:
        if num_classes < 2:
            raise ValueError(f"Argument num_classes should be >= 2, got {num_classes}")
        if mixup_alpha < 0 or cutmix_alpha < 0:
            raise ValueError(f"Arguments mixup_alpha, cutmix_alpha should be >= 0, got {mixup_alpha}, {cutmix_alpha}")
        if mixup_alpha == 0 and cutmix_alpha == 0:
            raise ValueError("MixBatch needs mixup_alpha > 0 or cutmix_alpha > 0")
        mixers: list[v2.Transform] = []
        if mixup_alpha > 0:
            mixers.append(v2.MixUp(alpha=float(mixup_alpha), num_classes=num_classes))
        if cutmix_alpha > 0:
            mixers.append(v2.CutMix(alpha=float(cutmix_alpha), num_classes=num_classes))
        self.mix = mixers[0] if len(mixers) == 1 else v2.RandomChoice(mixers)

    def __call__(self, images: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.mix(images, targets)


def build_batch_transform(config: dict[str, Any], num_classes: int) -> MixBatch | None:
    """A :class:`MixBatch` from ``mixup_alpha`` / ``cutmix_alpha``, or None when both are 0."""
    mixup = float(config.get("mixup_alpha") or 0.0)
    cutmix = float(config.get("cutmix_alpha") or 0.0)
    if mixup == 0 and cutmix == 0:
        return None
    return MixBatch(num_classes, mixup, cutmix)
