"""``bench train`` (CPU, tiny settings): three loops alternating on the same batches, and a folder through the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from ignite_fire.bench.train import contender_names, train
from ignite_fire.errors import UserError


def test_train_mode_times_the_three_loops_on_the_same_batches() -> None:
    result = train(model="tiny_cnn", image_size=16, batch_size=8, device="cpu", amp=False, steps=2, warmup=1, rounds=2)
    assert set(result["median_img_per_s"]) == {"ignite_fire", "plain", "seed"}
    assert all(len(rates) == 2 and min(rates) > 0 for rates in result["img_per_s"].values())
    assert set(result["ratios"]) == {"ignite_fire/plain", "ignite_fire/seed", "plain/seed"}


def test_train_mode_on_an_image_folder_through_the_memory_cache(digits_dir: Path) -> None:
    result = train(
        model="tiny_cnn",
        image_size=16,
        batch_size=8,
        device="cpu",
        amp=False,
        data=str(digits_dir),
        cache=True,
        num_workers=0,
        steps=2,
        warmup=1,
        rounds=1,
        contenders="ignite_fire,plain",
    )
    assert "memory cache" in result["settings"] and result["median_img_per_s"]["ignite_fire"] > 0


def test_contenders_are_checked() -> None:
    assert contender_names(("seed", " plain")) == ["seed", "plain"]
    with pytest.raises(UserError, match=r"^--contenders: unknown loop fast: choose from ignite_fire, plain, seed$"):
        contender_names("plain,fast")
