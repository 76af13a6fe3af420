"""sampler="balanced": every class drawn about equally often, reproducibly per (seed, epoch)."""

from __future__ import annotations

from collections import Counter

from ignite_fire.data.loaders import EpochSampler

# The Tianchi proportions: 无风险 ~2000, 低风险 ~500, 中风险 ~400, 非楼道 ~170, 高风险 ~100.
TARGETS = [0] * 100 + [1] * 400 + [2] * 500 + [3] * 2000 + [4] * 170


def test_balanced_sampler_draws_each_class_about_equally() -> None:
    sampler = EpochSampler(TARGETS, seed=1, balanced=True)
    drawn = Counter(TARGETS[i] for i in sampler)
    assert sum(drawn.values()) == len(TARGETS) == len(sampler)
    expected = len(TARGETS) / 5
    assert all(abs(n - expected) < 0.1 * expected for n in drawn.values()), drawn
    rare = {i for i in sampler if TARGETS[i] == 0}
    assert len(rare) > 80, "the rare class's images are reused, most of them each epoch"


def test_plain_sampler_is_a_permutation_and_both_are_reproducible() -> None:
    plain = EpochSampler(TARGETS, seed=1)
    assert sorted(plain) == list(range(len(TARGETS)))
    balanced = EpochSampler(TARGETS, seed=1, balanced=True)
    first = list(balanced)
    assert list(balanced) == first
    balanced.set_epoch(1)
    assert list(balanced) != first
