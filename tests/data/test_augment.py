"""Augmentation policies: the default transforms and the memory cache draw the same parameters."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import _auto_augment

from ignite_fire.config import DEFAULTS, RunConfig
from ignite_fire.data.augment import apply_per_image, build_erasing, build_policy
from ignite_fire.data.cache import cache_splits
from ignite_fire.data.datasets import build_datasets
from ignite_fire.data.transforms import build_transforms

SIZE = 16


class Spy:
    """Records the (operation, |magnitude|) every auto-augment policy applies, and every erased area."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.ops: list[tuple[str, float]] = []
        self.erased: list[float] = []
        self.images = 0
        apply, make_params = (
            _auto_augment._AutoAugmentBase._apply_image_or_video_transform,
            v2.RandomErasing.make_params,
        )

        def record_op(policy: Any, image: Any, transform_id: str, magnitude: float, *args: Any, **kwargs: Any) -> Any:
            self.ops.append((transform_id, abs(float(magnitude))))
            return apply(policy, image, transform_id, magnitude, *args, **kwargs)

        def record_erasing(erasing: Any, flat_inputs: list[Any]) -> dict[str, Any]:
            params = make_params(erasing, flat_inputs)
            self.erased.append(params["h"] * params["w"] / SIZE**2)
            return params

        monkeypatch.setattr(_auto_augment._AutoAugmentBase, "_apply_image_or_video_transform", record_op)
        monkeypatch.setattr(v2.RandomErasing, "make_params", record_erasing)

    def take(self) -> tuple[list[tuple[str, float]], list[float]]:
        ops, erased = self.ops, self.erased
        self.ops, self.erased = [], []
        return ops, erased


def config_of(digits_dir: Path, **extra: Any) -> dict[str, Any]:
    return {**DEFAULTS, "data_dir": str(digits_dir), "image_size": SIZE, "seed": 0, "num_workers": 0, **extra}


def draw_both_paths(digits_dir: Path, spy: Spy, **extra: Any) -> tuple[Any, Any]:
    """The parameters drawn over the training split, once through the default transforms, once through the cache."""
    config = config_of(digits_dir, **extra)
    splits = build_datasets(config, build_transforms(config))
    torch.manual_seed(0)
    spy.images = len(splits.train)
    for index in range(len(splits.train)):
        splits.train[index]
    plain = spy.take()
    cached, _ = cache_splits(None, splits, RunConfig.from_dict({**config, "cache": "memory"}), torch.device("cpu"))
    for start in range(0, len(cached.train), 32):
        cached.train.__getitems__(list(range(start, min(start + 32, len(cached.train)))))
    return plain, spy.take()


def total_variation(a: list[str], b: list[str]) -> float:
    ca, cb = Counter(a), Counter(b)
    return 0.5 * sum(abs(ca[k] / len(a) - cb[k] / len(b)) for k in set(ca) | set(cb))


def relative_magnitude(ops: list[tuple[str, float]], top: dict[str, float]) -> float:
    return sum(m / top[op] for op, m in ops if top[op] > 0) / max(1, len(ops))


@pytest.mark.parametrize("policy", ["randaugment", "trivialaugment", "autoaugment", "augmix"])
def test_cache_and_default_transforms_draw_the_same_policy_parameters(
    policy: str, digits_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy(monkeypatch)
    (plain, _), (cached, _) = draw_both_paths(digits_dir, spy, augment=policy)
    names = {name for name, _ in plain}
    assert len(names) >= 5, names  # the policy really ran, with many operations
    per_image = len(cached) / len(plain)
    assert 0.85 < per_image < 1.15  # as many operations per image on both paths
    assert total_variation([n for n, _ in plain], [n for n, _ in cached]) < 0.15
    top = {op: max(m for o, m in plain + cached if o == op) for op in names | {n for n, _ in cached}}
    assert abs(relative_magnitude(plain, top) - relative_magnitude(cached, top)) < 0.08


def test_the_magnitude_comparison_can_tell_two_magnitudes_apart(
    digits_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy(monkeypatch)
    (weak, _), _ = draw_both_paths(digits_dir, spy, augment="randaugment", augment_magnitude=3)
    (strong, _), _ = draw_both_paths(digits_dir, spy, augment="randaugment", augment_magnitude=20)
    top = {op: max(m for o, m in weak + strong if o == op) for op, _ in weak + strong}
    assert relative_magnitude(strong, top) - relative_magnitude(weak, top) > 0.2


def test_random_erasing_has_the_same_rate_and_sizes_on_both_paths(
    digits_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy(monkeypatch)
    (_, plain), (_, cached) = draw_both_paths(digits_dir, spy, random_erasing=0.5)
    assert 0.4 < len(plain) / spy.images < 0.6 and abs(len(plain) - len(cached)) < 0.15 * len(plain)
    assert abs(sum(plain) / len(plain) - sum(cached) / len(cached)) < 0.05


def test_the_cache_applies_policy_and_erasing_reproducibly(digits_dir: Path) -> None:
    config = config_of(digits_dir, augment="trivialaugment", random_erasing=0.5, cache="memory")
    splits = build_datasets(config, build_transforms(config))
    plain, _ = cache_splits(
        None, splits, RunConfig.from_dict({**config, "augment": "none", "random_erasing": 0.0}), torch.device("cpu")
    )
    augmented, _ = cache_splits(None, splits, RunConfig.from_dict(config), torch.device("cpu"))
    indices = list(range(16))
    first, again = augmented.train.__getitems__(indices)[0], augmented.train.__getitems__(indices)[0]
    assert torch.equal(first, again)  # a batch's augmentation depends only on the seed and its indices
    assert not torch.equal(first, plain.train.__getitems__(indices)[0])
    assert first.shape == (16, 3, SIZE, SIZE) and first.dtype == torch.float32


def test_apply_per_image_leaves_the_global_random_state_alone() -> None:
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    images = torch.randint(0, 255, (4, 3, 8, 8), dtype=torch.uint8)
    torch.manual_seed(5)
    apply_per_image(v2.TrivialAugmentWide(), images, seed=1)
    assert torch.equal(torch.rand(3), expected)


def test_policies_at_their_magnitudes() -> None:  # the schema checks the values (tests/test_config.py)
    assert build_policy("none") is None and build_erasing(0.0) is None
    assert build_policy("randaugment").magnitude == 9 and build_policy("randaugment", 30).magnitude == 30
    assert build_policy("augmix").severity == 3 and build_policy("augmix", 10).severity == 10
    assert build_erasing(0.25).p == 0.25
