"""Datasets of ``(path, class index)`` samples, and :func:`build_datasets`, the default data factory.

:func:`build_datasets` takes the labelled images from :mod:`ignite_fire.data.sources` (class folders,
a Tianchi ``train.txt``, or a CSV under ``data_dir``), leaves out unreadable images when
``on_bad_image="skip"``, and splits them with :mod:`ignite_fire.data.splits`: a given ``val/`` or
``val.txt``, else a stratified, seeded split with ``val_fraction`` of each class in validation, or
fold ``fold`` of ``folds`` stratified folds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import Dataset

from ignite_fire.config import RunConfig
from ignite_fire.data.checks import check_splits
from ignite_fire.data.decode import draft_size
from ignite_fire.data.extra import extra_train_samples
from ignite_fire.data.images import load_image
from ignite_fire.data.loaders import default_num_workers
from ignite_fire.data.sources import check_class_counts, drop_unreadable, load_labelled_images
from ignite_fire.data.splits import split_samples, stratified_split
from ignite_fire.errors import UserError

logger = logging.getLogger("ignite_fire")

__all__ = ["DataSplits", "ImageListDataset", "LabelledSamples", "build_datasets", "stratified_split"]

Sample = tuple[str, int]


class LabelledSamples:
    """A dataset's ``samples`` (path, class index) and ``classes``, and what is derived from them."""

    samples: list[Sample]
    classes: list[str]

    @property
    def targets(self) -> list[int]:
        return [label for _, label in self.samples]

    def class_counts(self) -> list[int]:
        counts = [0] * len(self.classes)
        for _, label in self.samples:
            counts[label] += 1
        return counts


class ImageListDataset(LabelledSamples, Dataset):
    """Images from a list of ``(path, class index)`` samples, decoded with :func:`load_image`."""

    def __init__(
        self,
        samples: Sequence[Sample],
        classes: Sequence[str],
        transform: Callable[[Any], torch.Tensor] | None = None,
        draft_size: int | None = None,
    ) -> None:
        self.samples = list(samples)
        self.classes = list(classes)
        self.transform = transform
        self.draft_size = draft_size  # JPEG draft decoding (see ignite_fire.data.decode)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        path, label = self.samples[index]
        image: Any = load_image(path, self.draft_size)  # a PIL image, then what the transform returns
        if self.transform is not None:
            image = self.transform(image)
        return image, label


@dataclass
class DataSplits:
    train: ImageListDataset
    val: ImageListDataset
    classes: list[str]


def _per_class(train: Sequence[Sample], val: Sequence[Sample], classes: Sequence[str]) -> str:
    counts = [[0, 0] for _ in classes]
    for column, samples in enumerate((train, val)):
        for _, label in samples:
            counts[label][column] += 1
    return ", ".join(f"{name} {n_train}/{n_val}" for name, (n_train, n_val) in zip(classes, counts, strict=True))


def build_datasets(config: dict[str, Any], transforms: tuple[Callable, Callable]) -> DataSplits:
    """Train and validation datasets for ``config["data_dir"]`` (see the module docstring)."""
    settings = RunConfig.from_dict(config)  # the experiment contract gives the dict; typed once here
    data = settings.data
    found = load_labelled_images(data)
    classes = found.classes
    index = {name: i for i, name in enumerate(classes)}
    train_samples: list[Sample] = [(path, index[name]) for path, name in found.train]
    val_samples: list[Sample] | None = None if found.val is None else [(p, index[name]) for p, name in found.val]
    if data.on_bad_image == "skip":
        workers = data.num_workers or default_num_workers()
        train_samples = drop_unreadable(train_samples, workers)
        check_class_counts([(p, classes[i]) for p, i in train_samples], classes, f"{found.description} (readable)")
        val_samples = None if val_samples is None else drop_unreadable(val_samples, workers)
    train, val = split_samples(train_samples, val_samples, data, settings.update.seed, classes)
    train = train + extra_train_samples(data.extra_train, classes, train + val)  # --extra_train: training only
    if not val:
        raise UserError(f"no validation images in {found.description}: every class has a single image; add images")
    check_splits(train, val, classes, data.allow_small_classes)  # tiny classes, train/val duplicates
    fold = f" (fold {data.fold} of {data.folds})" if data.folds else ""
    logger.info(
        f"data: {found.description}: {len(classes)} classes, {len(train)} train / {len(val)} val images{fold}; "
        f"per class {_per_class(train, val, classes)}"
    )
    train_tf, eval_tf = transforms
    draft = draft_size(data.image_size, settings.speed.jpeg_draft)
    return DataSplits(
        train=ImageListDataset(train, classes, train_tf, draft),
        val=ImageListDataset(val, classes, eval_tf, draft),
        classes=classes,
    )
