"""--groups: stratified group folds keep every group on one side of each split."""

from __future__ import annotations

from pathlib import Path

import pytest

from ignite_fire.data.datasets import build_datasets
from ignite_fire.data.groups import group_fold_split
from ignite_fire.data.transforms import build_transforms
from ignite_fire.errors import UserError
from ignite_fire.experiment import load_experiment
from tests.helpers import TINY_EXPERIMENT


def test_no_group_straddles_train_and_validation(tmp_path: Path) -> None:
    samples = [(f"/data/img_{c}_{i:02d}.jpg", c) for c in range(3) for i in range(24)]
    group_of = {Path(p).name: f"corridor{c}_{i // 4}" for p, c in samples for i in [int(p[-6:-4])]}
    groups_file = tmp_path / "groups.txt"
    groups_file.write_text("".join(f"{n}\t{g}\n" for n, g in group_of.items()), encoding="utf-8")
    seen_val: list[str] = []
    for fold in range(3):
        train, val = group_fold_split(samples, 3, fold, seed=0, groups_file=groups_file)
        assert sorted(train + val) == sorted(samples)
        train_groups = {group_of[Path(p).name] for p, _ in train}
        val_groups = {group_of[Path(p).name] for p, _ in val}
        assert not train_groups & val_groups
        assert {label for _, label in val} == {0, 1, 2}  # stratified: every class in validation
        seen_val += [p for p, _ in val]
    assert sorted(seen_val) == sorted(p for p, _ in samples)  # the folds partition the images
    (tmp_path / "short.txt").write_text("img_0_00.jpg\tg\n", encoding="utf-8")
    with pytest.raises(UserError, match="has no group for img_0_01.jpg"):
        group_fold_split(samples, 3, 0, seed=0, groups_file=tmp_path / "short.txt")


def test_groups_reach_the_folds_of_a_run(digits_dir: Path, tmp_path: Path) -> None:
    files = sorted(p.name for p in digits_dir.rglob("*.png"))
    group_of = {name: f"g{i // 5}" for i, name in enumerate(files)}  # runs of 5 images share a group
    groups_file = tmp_path / "groups.txt"
    groups_file.write_text("".join(f"{n}\t{g}\n" for n, g in group_of.items()), encoding="utf-8")
    overrides = {"data_dir": str(digits_dir), "folds": 2, "fold": 1, "groups": str(groups_file)}
    config = load_experiment(TINY_EXPERIMENT, overrides).config
    splits = build_datasets(config, build_transforms(config))
    train_groups = {group_of[Path(p).name] for p, _ in splits.train.samples}
    val_groups = {group_of[Path(p).name] for p, _ in splits.val.samples}
    assert not train_groups & val_groups and len(splits.train) + len(splits.val) == len(files)
