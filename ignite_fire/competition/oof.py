"""Out-of-fold predictions: every labelled image predicted once, by the fold that held it out.

Each fold's validation images are rebuilt with the data factory and the fold's config (the same split
as in training; ``--extra_train`` images are never among them) and predicted by that fold's best
checkpoint with its eval transform (and TTA when asked). ``{cv_dir}/oof.csv`` has the columns
``file`` (the image's path under ``data_dir``, wherever the command ran), ``label, fold`` and one
probability column per class::

    oof = predict_oof(experiment, cv_dir, folds=5, device=torch.device("cpu"))
    write_oof(cv_dir / "oof.csv", oof)
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from ignite_fire.cv_dir import fold_dir
from ignite_fire.data.datasets import build_datasets
from ignite_fire.data.loaders import default_num_workers
from ignite_fire.data.transforms import build_transforms
from ignite_fire.errors import UserError
from ignite_fire.experiment import Experiment
from ignite_fire.files import write_text_atomic
from ignite_fire.inference.predict import find_checkpoint, load_predictor, predict_images


@dataclass
class OOF:
    """Out-of-fold predictions: one row per labelled image."""

    files: list[str]
    labels: torch.Tensor  # (N,) class indices
    folds: torch.Tensor  # (N,) the fold that held each image out
    probabilities: torch.Tensor  # (N, C)
    classes: list[str]


@contextmanager
def without_data_lines() -> Iterator[None]:
    """Leave out the ``data: ...`` lines the data factory logs while the folds' datasets are rebuilt."""

    def not_data_line(record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("data: ")

    logger = logging.getLogger("ignite_fire")
    logger.addFilter(not_data_line)
    try:
        yield
    finally:
        logger.removeFilter(not_data_line)


def fold_validation_samples(experiment: Experiment, folds: int, fold: int) -> tuple[list[tuple[str, int]], list[str]]:
    """The validation samples of fold ``fold`` and the class list, rebuilt as training built them."""
    config = {**experiment.config, "folds": folds, "fold": fold}
    transforms = experiment.factory("build_transforms", build_transforms)(config)
    with without_data_lines():  # the folds' training logged them already
        splits = experiment.factory("build_datasets", build_datasets)(config, transforms)
    samples = getattr(splits.val, "samples", None)
    if samples is None:
        raise UserError("out-of-fold predictions need the validation dataset's .samples list of (path, class index)")
    return list(samples), list(splits.classes)


def data_relative(path: str | Path, data_dir: Path) -> str:
    """``path`` relative to ``data_dir`` (``train/x.jpg``), not to where the command ran; as is when outside it."""
    try:
        return Path(path).resolve().relative_to(data_dir.resolve()).as_posix()
    except ValueError:
        return str(path)


def predict_oof(experiment: Experiment, cv_dir: Path, folds: int, device: torch.device, tta: str | None = None) -> OOF:
    """Predict every fold's validation images with that fold's best checkpoint."""
    files: list[str] = []
    labels: list[int] = []
    fold_of: list[int] = []
    parts: list[torch.Tensor] = []
    classes: list[str] = []
    workers = experiment.settings.data.num_workers
    workers = default_num_workers() if workers is None else workers
    data_dir = Path(experiment.settings.data.data_dir).expanduser()
    for k in range(folds):
        samples, classes = fold_validation_samples(experiment, folds, k)
        predictor = load_predictor(find_checkpoint(fold_dir(cv_dir, k)), device, experiment)  # the cv named it
        if predictor.classes != classes:
            raise UserError(f"fold{k}'s checkpoint has classes {predictor.classes}, the data has {classes}")
        names = [path for path, _ in samples]
        probabilities, _ = predict_images([predictor], Path(""), names, device, tta, num_workers=workers)
        files += [data_relative(name, data_dir) for name in names]
        labels += [label for _, label in samples]
        fold_of += [k] * len(samples)
        parts.append(probabilities)
    return OOF(files, torch.tensor(labels), torch.tensor(fold_of), torch.cat(parts), classes)


def write_oof(path: Path, oof: OOF) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["file", "label", "fold", *oof.classes])
    rows = zip(oof.files, oof.labels.tolist(), oof.folds.tolist(), oof.probabilities.tolist(), strict=True)
    for file, label, fold, row in rows:
        writer.writerow([file, oof.classes[label], fold, *(f"{p:.6f}" for p in row)])
    write_text_atomic(path, buffer.getvalue())


def read_oof(path: Path) -> OOF:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows or rows[0][:3] != ["file", "label", "fold"]:
        raise UserError(f"{path} is not an oof.csv (expected columns file, label, fold, then one per class)")
    classes = rows[0][3:]
    body = rows[1:]
    return OOF(
        files=[r[0] for r in body],
        labels=torch.tensor([classes.index(r[1]) for r in body]),
        folds=torch.tensor([int(r[2]) for r in body]),
        probabilities=torch.tensor([[float(x) for x in r[3:]] for r in body]),
        classes=classes,
    )
