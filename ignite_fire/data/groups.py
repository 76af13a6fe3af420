"""Stratified group folds: images of one group (near-duplicate photos of one corridor) share a fold.

``--groups=FILE`` names a ``file_name<TAB>group`` file (UTF-8); file names are matched on their last
path component, as train.txt names them. The folds come from scikit-learn's StratifiedGroupKFold,
seeded, over the samples sorted by path, so every fold of a cv sees the same partition::

    train, val = group_fold_split(samples, folds=5, fold=0, seed=42, groups_file="groups.txt")
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ignite_fire.data.sources import parse_label_file
from ignite_fire.errors import UserError

Sample = tuple[str, int]
SHOW = 5


def read_groups(groups_file: str | Path) -> dict[str, str]:
    """``{file name: group}`` from ``groups_file``."""
    path = Path(groups_file).expanduser()
    if not path.is_file():
        raise UserError(f"--groups file not found: {path} (lines of file_name<TAB>group)")
    return {Path(name).name: group for _, name, group in parse_label_file(path)}


def group_fold_split(
    samples: Sequence[Sample], folds: int, fold: int, seed: int, groups_file: str | Path
) -> tuple[list[Sample], list[Sample]]:
    """Fold ``fold`` (0 .. folds-1) of ``folds`` stratified group folds for validation, the others for training."""
    from sklearn.model_selection import StratifiedGroupKFold

    groups = read_groups(groups_file)
    ordered = sorted(samples)
    missing = [Path(p).name for p, _ in ordered if Path(p).name not in groups]
    if missing:
        more = f", ... ({len(missing)} in all)" if len(missing) > SHOW else ""
        raise UserError(f"--groups={groups_file} has no group for {', '.join(missing[:SHOW])}{more}")
    labels = [label for _, label in ordered]
    names = [groups[Path(p).name] for p, _ in ordered]
    if len(set(names)) < folds:
        raise UserError(f"--groups={groups_file} has {len(set(names))} groups, fewer than --folds={folds}")
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    train_index, val_index = list(splitter.split(ordered, labels, names))[fold]
    return [ordered[i] for i in train_index], [ordered[i] for i in val_index]
