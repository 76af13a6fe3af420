"""Stratified holdout split and stratified k-fold: every class in every validation set, folds partition the data."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ignite_fire.data.datasets import build_datasets
from ignite_fire.data.splits import fold_split, stratified_folds, stratified_split
from ignite_fire.data.transforms import build_transforms
from ignite_fire.errors import UserError
from ignite_fire.experiment import resolve_config

# An imbalanced set like the Tianchi data, scaled down: class 4 is rare.
COUNTS = {0: 200, 1: 50, 2: 40, 3: 17, 4: 10}
SAMPLES = [(f"img_{label}_{i:04d}.jpg", label) for label, n in COUNTS.items() for i in range(n)]


def test_stratified_split_keeps_class_proportions_and_is_seeded() -> None:
    train, val = stratified_split(SAMPLES, 0.2, seed=7)
    assert sorted(train + val) == sorted(SAMPLES)
    assert Counter(label for _, label in val) == {0: 40, 1: 10, 2: 8, 3: 3, 4: 2}
    assert stratified_split(list(reversed(SAMPLES)), 0.2, seed=7) == (train, val), "order of input does not matter"
    assert stratified_split(SAMPLES, 0.2, seed=8)[1] != val


def test_stratified_split_puts_one_image_of_every_small_class_in_validation() -> None:
    samples = [("a.jpg", 0), ("b.jpg", 0), ("c.jpg", 1), ("d.jpg", 1), ("e.jpg", 1)]
    train, val = stratified_split(samples, 0.1, seed=0)
    assert Counter(label for _, label in val) == {0: 1, 1: 1}
    assert Counter(label for _, label in train) == {0: 1, 1: 2}


@pytest.mark.parametrize("folds", [2, 5, 10])
def test_folds_partition_the_data_with_every_class_in_every_fold(folds: int) -> None:
    parts = stratified_folds(SAMPLES, folds, seed=3)
    assert sorted(s for part in parts for s in part) == sorted(SAMPLES), "each sample in exactly one fold"
    sizes = [len(part) for part in parts]
    assert max(sizes) - min(sizes) <= 1
    for part in parts:
        per_class = Counter(label for _, label in part)
        assert set(per_class) == set(COUNTS)
        for label, n in COUNTS.items():
            assert n // folds <= per_class[label] <= -(-n // folds)


def test_folds_are_scikit_learns_stratified_k_fold_whatever_the_input_order() -> None:
    from sklearn.model_selection import StratifiedKFold

    parts = stratified_folds(list(reversed(SAMPLES)), 5, seed=3)
    ordered = sorted(SAMPLES)
    splitter = StratifiedKFold(n_splits=5, shuffle=True, random_state=3)
    assert parts == [[ordered[i] for i in val] for _, val in splitter.split(ordered, [y for _, y in ordered])]
    assert stratified_folds(SAMPLES, 5, seed=3) == parts
    assert stratified_folds(SAMPLES, 5, seed=4) != parts


def test_a_cv_directory_records_its_split_version_and_refuses_another(tmp_path: Path) -> None:
    import json

    from ignite_fire.competition.crossval import start_cv_dir
    from ignite_fire.data.splits import SPLIT_VERSION

    start_cv_dir(tmp_path / "new", 3, "x.py", {})
    assert json.loads((tmp_path / "new" / "cv.json").read_text(encoding="utf-8"))["split_version"] == SPLIT_VERSION
    start_cv_dir(tmp_path / "new", 3, "x.py", {})  # the same cv continues
    old = tmp_path / "old"
    old.mkdir()
    (old / "cv.json").write_text(json.dumps({"folds": 3, "experiment": "x.py", "overrides": {}}), encoding="utf-8")
    with pytest.raises(UserError) as error:
        start_cv_dir(old, 3, "x.py", {})  # a cv started before the folds came from scikit-learn
    assert str(error.value) == (
        f"{old} was split into folds by split version 1, this ignite_fire splits by version {SPLIT_VERSION} "
        "(scikit-learn's StratifiedKFold): its folds cannot be continued; use another --name"
    )


def test_fold_split_is_the_fold_and_the_rest() -> None:
    parts = stratified_folds(SAMPLES, 5, seed=3)
    for fold in range(5):
        train, val = fold_split(SAMPLES, 5, fold, seed=3)
        assert val == parts[fold]
        assert sorted(train + val) == sorted(SAMPLES)


@pytest.mark.parametrize(
    ("folds", "fold", "message"),
    [
        (11, 0, "class 'rare' has 10 images, fewer than --folds=11"),
    ],
)
def test_fold_errors(folds: int, fold: int, message: str) -> None:
    with pytest.raises(UserError, match=message):
        fold_split(SAMPLES, folds, fold, seed=0, classes=["a", "b", "c", "d", "rare"])


def test_folds_through_build_datasets_pool_train_and_val(digits_dir: Path) -> None:
    seen: list[str] = []
    for fold in range(3):
        config = resolve_config(
            {"data_dir": str(digits_dir), "image_size": 16, "folds": 3, "fold": fold, "num_workers": 0}, "test"
        )
        splits = build_datasets(config, build_transforms(config))
        assert all(n > 0 for n in splits.val.class_counts())
        assert len(splits.train) + len(splits.val) == 400, "train/ and val/ images are pooled"
        seen += [path for path, _ in splits.val.samples]
    assert len(seen) == len(set(seen)) == 400
