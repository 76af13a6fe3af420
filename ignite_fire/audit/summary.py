"""The data summary: counts per class and split, sizes and formats, unreadable and small images, and how
the duplicate groups fall across the stratified folds that ``cv`` would make without ``--groups``."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ignite_fire.audit.duplicates import Group
from ignite_fire.audit.hashing import ImageInfo
from ignite_fire.data.splits import stratified_folds
from ignite_fire.errors import UserError

Labelled = tuple[str, str]
SHOW = 20  # files listed per kind of problem in summary.json (the CSVs have them all)


def image_stats(infos: Sequence[ImageInfo], image_size: int) -> dict[str, Any]:
    """Formats, sizes, unreadable files and images whose shorter side is below ``image_size``."""
    readable = [info for info in infos if info.error is None]
    small = [info for info in readable if min(info.width, info.height) < image_size]
    widths, heights = [i.width for i in readable], [i.height for i in readable]

    def spread(values: list[int]) -> dict[str, float] | None:
        return {"min": min(values), "median": statistics.median(values), "max": max(values)} if values else None

    sizes = Counter(f"{i.width}x{i.height}" for i in readable)
    return {
        "images": len(infos),
        "formats": dict(Counter(i.format for i in readable).most_common()),
        "width": spread(widths),
        "height": spread(heights),
        "common_sizes": dict(sizes.most_common(5)),
        "unreadable": len(infos) - len(readable),
        "unreadable_files": [{"file": i.path, "error": i.error} for i in infos if i.error is not None][:SHOW],
        "below_image_size": len(small),
        "below_image_size_files": [f"{i.path} ({i.width}x{i.height})" for i in small][:SHOW],
    }


def class_counts(splits: Mapping[str, Sequence[Labelled]], classes: Sequence[str]) -> dict[str, dict[str, int]]:
    """``{split: {class: images}}``, classes in the data's order."""
    return {
        split: {name: sum(1 for _, label in samples if label == name) for name in classes}
        for split, samples in splits.items()
    }


def fold_of(samples: Sequence[Labelled], classes: Sequence[str], folds: int, seed: int) -> dict[str, int]:
    """``{path: fold}`` of the stratified folds ``cv --folds=FOLDS --seed=SEED`` makes without ``--groups``
    (the same function, :func:`ignite_fire.data.splits.stratified_folds`, over all labelled images)."""
    index = {name: i for i, name in enumerate(classes)}
    parts = stratified_folds([(path, index[label]) for path, label in samples], folds, seed, classes)
    return {path: k for k, part in enumerate(parts) for path, _ in part}


def group_stats(
    groups: Sequence[Group], samples: Sequence[Labelled], folds: int, seed: int, classes: Sequence[str]
) -> dict[str, Any]:
    """Counts of the duplicate groups, the largest ones, and how many straddle the plain stratified folds."""
    duplicated = [g for g in groups if g.size > 1]
    conflicting = [g for g in duplicated if len({samples[k][1] for k in g.members}) > 1]
    try:
        folds_of = fold_of(samples, classes, folds, seed)
        crossing: int | None = sum(1 for g in duplicated if len({folds_of[samples[k][0]] for k in g.members}) > 1)
        note = f"stratified {folds}-fold split of cv --folds={folds} --seed={seed} without --groups"
    except UserError as error:  # a class with fewer images than folds: cv would refuse too
        crossing, note = None, str(error)
    return {
        "groups": len(groups),
        "duplicate_groups": len(duplicated),
        "images_in_duplicate_groups": sum(g.size for g in duplicated),
        "exact_duplicate_groups": sum(1 for g in duplicated if g.exact),
        "conflicts": len(conflicting),
        "largest": [
            {"group": g.name, "size": g.size, "files": [Path(samples[k][0]).name for k in g.members][:SHOW]}
            for g in duplicated[:10]
        ],
        "groups_crossing_folds": crossing,
        "folds": folds,
        "folds_note": note,
    }
