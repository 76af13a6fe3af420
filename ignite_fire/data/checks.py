"""Checks of the split data, after reading and before training: classes too small to learn or to
validate, and the same image file in training and validation.

A class with fewer than 2 training images, or none in validation, is an error naming it (a single
mistyped label in a label file makes exactly such a class: the message names the closest class),
unless ``allow_small_classes=True``. Byte-identical files in train and val are a warning with the
count (they inflate the validation score; ``audit`` finds near-duplicates too).

Example::

    check_splits(train, val, classes, allow_small_classes=False)
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import os
from collections import defaultdict
from collections.abc import Sequence

from ignite_fire.errors import UserError

logger = logging.getLogger("ignite_fire")

Sample = tuple[str, int]
MIN_TRAIN_IMAGES = 2


def check_splits(
    train: Sequence[Sample], val: Sequence[Sample], classes: Sequence[str], allow_small_classes: bool = False
) -> None:
    """Refuse a class with < 2 training images or none in validation; warn about train/val duplicates."""
    if not allow_small_classes:
        check_class_sizes(train, val, classes)
    duplicates = identical_files(train, val)
    if duplicates:
        example = duplicates[0]
        logger.warning(
            f"warning: {len(duplicates)} validation image(s) are byte-identical to training images "
            f"(e.g. {example[1]} = {example[0]}): the validation score counts them as unseen; remove them"
        )


def check_class_sizes(train: Sequence[Sample], val: Sequence[Sample], classes: Sequence[str]) -> None:
    n_train, n_val = [0] * len(classes), [0] * len(classes)
    for _, label in train:
        n_train[label] += 1
    for _, label in val:
        n_val[label] += 1
    for label, name in enumerate(classes):
        if n_train[label] >= MIN_TRAIN_IMAGES and n_val[label] > 0:
            continue
        hint = ""
        if n_train[label] + n_val[label] == 1:  # a single image: a mistyped label of another class?
            others = [c for i, c in enumerate(classes) if i != label and n_train[i] >= MIN_TRAIN_IMAGES]
            close = difflib.get_close_matches(name, others, n=1, cutoff=0.6)
            hint = f"a mistyped {close[0]!r}? " if close else ""
        raise UserError(
            f"class {name!r} has {n_train[label]} train / {n_val[label]} val images: {hint}fix its labels or add "
            "images (>= 2 to train, >= 1 to validate), or pass --allow_small_classes=True"
        )


def identical_files(train: Sequence[Sample], val: Sequence[Sample]) -> list[tuple[str, str]]:
    """``(train path, val path)`` of each validation file whose bytes equal a training file's.

    Only files of a size found on both sides are hashed, so the usual case reads nothing but sizes.
    """
    by_size: dict[int, list[str]] = defaultdict(list)
    for path, _ in train:
        by_size[_size(path)].append(path)
    candidates = [path for path, _ in val if _size(path) in by_size]
    if not candidates:
        return []
    train_hashes: dict[str, str] = {}
    for size in {_size(path) for path in candidates}:
        for path in by_size[size]:
            train_hashes.setdefault(_digest(path), path)
    found = []
    for path in candidates:
        twin = train_hashes.get(_digest(path))
        if twin is not None:  # the same file listed in both splits counts too
            found.append((twin, path))
    return found


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return -1  # unreadable: _digest keeps it apart from every other file


def _digest(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            return hashlib.blake2b(handle.read(), digest_size=16).hexdigest()
    except OSError:
        return f"unreadable:{path}"  # unique: never a duplicate
