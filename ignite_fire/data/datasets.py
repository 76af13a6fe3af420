"""Where the samples come from: a list of ``(path, class index)`` pairs per split.

:func:`build_datasets` reads ``config["data_dir"]``:

* ``train/<class>/*`` and ``val/<class>/*`` (ImageFolder), or
* only ``train/<class>/*`` (or ``<class>/*`` directly): a stratified, seeded split with
  ``val_fraction`` of each class in validation.

The class list is ``config["classes"]`` when the experiment names it (the data must then use
exactly those classes), else the sorted class folder names.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from ignite_fire.data.images import is_image_file, load_image
from ignite_fire.errors import UserError

Sample = tuple[str, int]


class ImageListDataset(Dataset):
    """Images from a list of ``(path, class index)`` samples, decoded with :func:`load_image`."""

    def __init__(
        self,
        samples: Sequence[Sample],
        classes: Sequence[str],
        transform: Callable[[Any], torch.Tensor] | None = None,
    ) -> None:
        self.samples = list(samples)
        self.classes = list(classes)
        self.transform = transform

    @property
    def targets(self) -> list[int]:
        return [label for _, label in self.samples]

    def class_counts(self) -> list[int]:
        counts = [0] * len(self.classes)
        for _, label in self.samples:
            counts[label] += 1
        return counts

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        path, label = self.samples[index]
        image = load_image(path)
        if self.transform is not None:
            image = self.transform(image)
        return image, label


@dataclass
class DataSplits:
    train: ImageListDataset
    val: ImageListDataset
    classes: list[str]


def check_data_dir(data_dir: str | Path) -> Path:
    root = Path(data_dir).expanduser()
    if not root.exists():
        raise UserError(f"data_dir not found: {root} (pass --data_dir=PATH to your images)")
    if not root.is_dir():
        raise UserError(f"data_dir is not a folder: {root}")
    try:
        next(root.iterdir(), None)
    except PermissionError as error:
        raise UserError(f"data_dir is not readable: {root} ({error.strerror})") from error
    return root


def scan_class_folders(root: Path) -> dict[str, list[str]]:
    """``{class name: sorted image paths}`` for every sub-folder of ``root``."""
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    return {
        folder.name: sorted(str(p) for p in folder.rglob("*") if is_image_file(p))
        for folder in folders
    }


def resolve_classes(found: Sequence[str], wanted: Sequence[str] | None, where: Path) -> list[str]:
    """The class list: ``wanted`` if given (the data must match it exactly), else ``found`` sorted."""
    if wanted is None:
        return sorted(found)
    unknown = sorted(set(found) - set(wanted))
    if unknown:
        raise UserError(
            f"{where} has classes {unknown} that the experiment does not name (it expects {list(wanted)}); "
            "fix the data or set --classes=None to take the classes from the data"
        )
    return list(wanted)


def samples_from_folders(by_class: dict[str, list[str]], classes: Sequence[str], where: Path) -> list[Sample]:
    empty = [name for name in classes if not by_class.get(name)]
    if empty:
        raise UserError(f"class {empty[0]!r} has no images in {where}; add images or remove the class")
    index = {name: i for i, name in enumerate(classes)}
    return [(path, index[name]) for name in classes for path in by_class[name]]


def stratified_split(samples: Sequence[Sample], val_fraction: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Split each class separately so every class with >= 2 images has one in validation."""
    if not 0 < val_fraction < 1:
        raise UserError(f"--val_fraction must be between 0 and 1, got {val_fraction}")
    by_label: dict[int, list[Sample]] = {}
    for sample in samples:
        by_label.setdefault(sample[1], []).append(sample)
    rng = random.Random(seed)
    train: list[Sample] = []
    val: list[Sample] = []
    for label in sorted(by_label):
        group = sorted(by_label[label])
        rng.shuffle(group)
        n_val = max(1, round(len(group) * val_fraction)) if len(group) >= 2 else 0
        val += group[:n_val]
        train += group[n_val:]
    return train, val


def build_datasets(config: dict[str, Any], transforms: tuple[Callable, Callable]) -> DataSplits:
    """Train and validation datasets for ``config["data_dir"]`` (see the module docstring)."""
    root = check_data_dir(config["data_dir"])
    train_tf, eval_tf = transforms
    wanted = config.get("classes")
    train_root = root / "train" if (root / "train").is_dir() else root
    train_folders = scan_class_folders(train_root)
    if not train_folders or not any(train_folders.values()):
        raise UserError(f"no images found in {train_root}: expected {train_root}/<class name>/<image files>")
    classes = resolve_classes(list(train_folders), wanted, train_root)
    samples = samples_from_folders(train_folders, classes, train_root)
    if (root / "val").is_dir():
        val_folders = scan_class_folders(root / "val")
        resolve_classes(list(val_folders), classes, root / "val")
        index = {name: i for i, name in enumerate(classes)}
        val_samples = [(p, index[name]) for name, paths in val_folders.items() for p in paths]
        if not val_samples:
            raise UserError(f"no images found in {root / 'val'}")
        train_samples = samples
    else:
        train_samples, val_samples = stratified_split(samples, float(config["val_fraction"]), int(config["seed"]))
    return DataSplits(
        train=ImageListDataset(train_samples, classes, train_tf),
        val=ImageListDataset(val_samples, classes, eval_tf),
        classes=classes,
    )
