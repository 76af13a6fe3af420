"""Augmentation policies from torchvision v2: RandAugment, TrivialAugment, AutoAugment, AugMix, RandomErasing.

``augment`` picks the policy (``none`` by default) and ``augment_magnitude`` its strength where it has
one (RandAugment's magnitude 0-30, default 9; AugMix's severity 1-10, default 3); ``random_erasing``
is the probability of erasing a random rectangle of each training image (after normalisation, so the
rectangle is the mean colour, value 0).

Both data paths use the same transform objects from :func:`build_policy` and :func:`build_erasing`:

* the default transforms apply the policy to each PIL image after the crop and flip, and the
  erasing after ``Normalize``;
* ``cache="memory"`` applies them image by image to the cropped uint8 batch
  (:func:`apply_per_image`), with torch's global random numbers seeded from the batch's seed, so
  a resumed run sees the same augmentation.

Example::

    policy = build_policy("randaugment", magnitude=9)
    images = apply_per_image(policy, uint8_batch, seed=123)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torchvision.transforms import v2

if TYPE_CHECKING:
    from ignite_fire.config import Augmentation


def build_policy(name: str, magnitude: int | None = None) -> v2.Transform | None:
    """The v2 policy ``name`` (one of choices.POLICIES; None for ``none``), at ``magnitude`` where it has one.

    The config schema checks ``augment`` and ``augment_magnitude`` (choices.MAGNITUDE_RANGES) before any data.
    """
    if name == "randaugment":
        return v2.RandAugment(magnitude=9 if magnitude is None else magnitude)
    if name == "trivialaugment":
        return v2.TrivialAugmentWide()
    if name == "autoaugment":
        return v2.AutoAugment(v2.AutoAugmentPolicy.IMAGENET)
    if name == "augmix":
        return v2.AugMix(severity=3 if magnitude is None else magnitude)
    return None


def build_erasing(probability: float) -> v2.RandomErasing | None:
    """RandomErasing with probability ``probability`` (None for 0), timm's default sizes, value 0."""
    if probability == 0:
        return None
    return v2.RandomErasing(p=probability, scale=(0.02, 1 / 3), ratio=(0.3, 3.3), value=0)


def policies_of(keys: Augmentation) -> tuple[v2.Transform | None, v2.RandomErasing | None]:
    """(policy, erasing) from ``augment``, ``augment_magnitude`` and ``random_erasing``."""
    return build_policy(keys.augment, keys.augment_magnitude), build_erasing(keys.random_erasing)


def apply_per_image(transform: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, seed: int) -> torch.Tensor:
    """``transform`` on each image of ``images`` (B, 3, H, W), with torch's global RNG seeded by ``seed``.

    The global random state outside is left as it was. Returns a new tensor of the same dtype.
    """
    out = torch.empty_like(images)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for i in range(images.shape[0]):
            out[i] = transform(images[i])
    return out
