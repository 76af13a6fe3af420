"""Validation splits that keep every class in validation: a stratified holdout and stratified k-fold
(scikit-learn's StratifiedKFold; with ``--groups``, its StratifiedGroupKFold in :mod:`.groups`).

Both are pure functions of the samples and the seed, so a run (or a resumed run, or fold 3 of 5
trained on another machine) always sees the same split::

    train, val = stratified_split(samples, val_fraction=0.2, seed=42)
    train, val = fold_split(samples, folds=5, fold=0, seed=42)  # the 5 folds partition the samples
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

from ignite_fire.config import Data
from ignite_fire.data.groups import group_fold_split
from ignite_fire.errors import UserError

Sample = tuple[str, int]


def _by_label(samples: Sequence[Sample], seed: int) -> dict[int, list[Sample]]:
    """Samples grouped by class, each group sorted then shuffled by ``seed`` (input order does not matter)."""
    groups: dict[int, list[Sample]] = {}
    for sample in samples:
        groups.setdefault(sample[1], []).append(sample)
    rng = random.Random(seed)
    for label in sorted(groups):
        groups[label] = sorted(groups[label])
        rng.shuffle(groups[label])
    return {label: groups[label] for label in sorted(groups)}


def stratified_split(samples: Sequence[Sample], val_fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """``val_fraction`` (0 < it < 1) of each class in validation (one image at least of each class with two or more)."""
    train: list[Sample] = []
    val: list[Sample] = []
    for group in _by_label(samples, seed).values():
        n_val = min(len(group) - 1, max(1, round(len(group) * val_fraction))) if len(group) >= 2 else 0
        val += group[:n_val]
        train += group[n_val:]
    return train, val


# Which fold assignment stratified_folds makes; a cv directory records it in cv.json (split_version)
# so that a cv is never continued with other folds. 1: the hand-written folds of ignite_fire 0.1;
# 2: scikit-learn's StratifiedKFold.
SPLIT_VERSION = 2


def stratified_folds(
    samples: Sequence[Sample], folds: int, seed: int, classes: Sequence[str] | None = None
) -> list[list[Sample]]:
    """Partition ``samples`` into ``folds`` parts with every class spread evenly over them.

    scikit-learn's ``StratifiedKFold(shuffle=True, random_state=seed)`` over the sorted samples (so
    the input order does not matter); the parts' sizes differ by at most one. Each class needs at
    least ``folds`` images so that it is in every fold's validation set (``classes`` names the class
    indices in that error). ``folds`` >= 2: the config schema checks it.
    """
    from sklearn.model_selection import StratifiedKFold  # imported here: sklearn is slow to import

    ordered = sorted(samples)
    labels = [label for _, label in ordered]
    for label, count in sorted(Counter(labels).items()):
        if count < folds:
            name = repr(classes[label]) if classes is not None else f"index {label}"
            raise UserError(
                f"class {name} has {count} images, fewer than --folds={folds}: "
                "it cannot be in every fold's validation set; use fewer folds"
            )
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [[ordered[i] for i in val_index] for _, val_index in splitter.split(ordered, labels)]


def fold_split(
    samples: Sequence[Sample], folds: int, fold: int, seed: int, classes: Sequence[str] | None = None
) -> tuple[list[Sample], list[Sample]]:
    """Fold ``fold`` (0 .. folds-1) of :func:`stratified_folds` for validation, the other folds for training."""
    parts = stratified_folds(samples, folds, seed, classes)
    train = [sample for i, part in enumerate(parts) if i != fold for sample in part]
    return train, parts[fold]


def split_samples(
    samples: Sequence[Sample],
    val_samples: Sequence[Sample] | None,
    data: Data,
    seed: int,
    classes: Sequence[str] | None = None,
) -> tuple[list[Sample], list[Sample]]:
    """Train and validation samples as the config asks.

    * ``folds`` set: k-fold over all labelled samples (``val_samples`` included), fold ``fold`` validates;
    * else the given ``val_samples`` (a ``val/`` folder or ``val.txt``), if any;
    * else :func:`stratified_split` with ``val_fraction``.
    """
    if data.folds is not None:
        pooled = list(samples) + list(val_samples or [])
        if data.groups:  # --groups=FILE: stratified group folds
            return group_fold_split(pooled, data.folds, data.fold, seed, data.groups)
        return fold_split(pooled, data.folds, data.fold, seed, classes)
    if val_samples is not None:
        return list(samples), list(val_samples)
    return stratified_split(samples, data.val_fraction, seed)
