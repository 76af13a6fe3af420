"""All the pictures of a training run, attached in one call from plain arguments.

:func:`attach_pictures` attaches every picture handler of this package through its own
``attach()``: the same wiring the tests use, and the same guard (:func:`~ignite_fire.pictures.guard.guarded`:
a picture that cannot be drawn is a warning, never the end of training).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from ignite.engine import Engine
from torch.utils.data import DataLoader, SequentialSampler

from ignite_fire.handlers.checkpoints import best_record
from ignite_fire.loggers.wandb import RunLog
from ignite_fire.pictures.confusion_matrix import ConfusionMatrixPlot
from ignite_fire.pictures.curves import CurvesPlot
from ignite_fire.pictures.gallery import PredictionGallery, normalization_of
from ignite_fire.pictures.gradcam import GradCam
from ignite_fire.pictures.model_graph import GraphExport
from ignite_fire.pictures.report import IndexPage
from ignite_fire.pictures.train_batch import TrainBatchPicture

History = Sequence[Mapping[str, Any]]


def image_shape(val_loader: DataLoader, image_size: int) -> tuple[int, ...]:
    """The (C, H, W) of one validation image, or (3, image_size, image_size) if it cannot be read."""
    try:
        image = val_loader.dataset[0][0]
        if hasattr(image, "shape") and len(image.shape) == 3:
            return tuple(int(s) for s in image.shape)
    except Exception:
        pass
    return (3, image_size, image_size)


def gallery_files(val_loader: DataLoader, data_dir: str | None) -> list[str] | None:
    """The image file of each validation position (relative to ``data_dir``), when the loader reads in order."""
    samples = getattr(val_loader.dataset, "samples", None)
    if not isinstance(val_loader.sampler, SequentialSampler) or not isinstance(samples, list):
        return None
    files = []
    for sample in samples:
        path = str(sample[0] if isinstance(sample, (tuple, list)) else sample)
        try:
            path = os.path.relpath(path, data_dir) if data_dir else path
        except ValueError:  # another drive on Windows
            pass
        files.append(path)
    return files


def confusion_matrix(
    classes: Sequence[str], run_dir: Path, trainer: Engine, metric: str, log: RunLog | None, history: History
) -> ConfusionMatrixPlot:
    """The confusion-matrix handler; a resumed run goes on from the best epoch of its ``history`` so far."""
    confusion = ConfusionMatrixPlot(classes, run_dir, trainer, metric, log)
    best = best_record(history, metric)
    if best is not None:
        confusion.load_state_dict({"best_score": float(best[metric]), "best_epoch": int(best["epoch"])})
    return confusion


def attach_pictures(
    trainer: Engine,
    evaluator: Engine,
    model: torch.nn.Module,
    classes: Sequence[str],
    run_dir: Path,
    val_loader: DataLoader,
    history: Callable[[], History],
    metric: str,
    log: RunLog | None = None,
    *,
    plots: bool = True,
    graph: bool = True,
    gallery_every: int | None = 1,
    gallery_size: int = 16,
    watch: str | None = None,
    watch_every: int = 100,
    title: str = "",
    data_dir: str | None = None,
    image_size: int = 224,
    gradcam: torch.nn.Module | None = None,
    train_batch_title: str | None = None,
) -> None:
    """Attach the run's pictures (call on rank 0 only, after the W&B logger is started).

    ``history()`` returns the epochs so far; a resumed run's best epoch in it is the confusion
    matrix's best so far. ``plots=False`` attaches no picture (``watch`` is separate). Pictures,
    in the order they fire: the model graph (start), the confusion matrix and the prediction
    gallery (after each evaluation), the curves and ``index.html`` (after each epoch).
    ``gradcam``: the evaluated model, to draw the gallery's mistakes with their Grad-CAM heat maps.
    ``train_batch_title``: draw the first training batch (``train_batch.png``) under this title.

    Example::

        attach_pictures(trainer, evaluator, model, classes, run_dir, val_loader, lambda: history, "val_acc")
    """
    every = gallery_every or 0  # the ranges are checked with the config (ignite_fire.config)
    if watch and log is not None:
        log.watch(model, watch, watch_every)
    if not plots:
        return
    if graph:
        GraphExport(model, image_shape(val_loader, image_size), run_dir, log).attach(trainer)
    confusion_matrix(classes, run_dir, trainer, metric, log, history()).attach(evaluator)
    mean, std = normalization_of(val_loader.dataset) if every or train_batch_title is not None else ((), ())
    if every:
        files = gallery_files(val_loader, data_dir)
        explainer = GradCam(gradcam, image_shape(val_loader, image_size), mean, std).overlays if gradcam else None
        gallery = PredictionGallery(classes, run_dir, trainer, every, gallery_size, mean, std, log, files, explainer)
        gallery.attach(evaluator)
    if train_batch_title is not None:  # the first augmented batch, as the model sees it
        path = run_dir / "train_batch.png"
        TrainBatchPicture(path, classes, train_batch_title, log=log, mean=mean, std=std).attach(trainer)
    CurvesPlot(history, run_dir, metric, title=title).attach(trainer)
    wandb_dir = log.files_dir() if log is not None else None
    IndexPage(run_dir, wandb_dir).attach(trainer)  # last: it shows what the others drew
