"""Seeing a run: pictures in the run directory, the same in W&B, and one page that shows them.

:func:`attach_visuals` adds, on the main process (rank 0) only:

=====================  ============================================  ================================
what                   in the run directory                           in W&B
=====================  ============================================  ================================
model graph (start)    ``model_graph.dot`` (+ ``.png``, ``.svg``)       image ``model_graph``
prediction gallery     ``gallery_epoch{N}.png``                       table ``val_predictions``,
                                                                      images ``val_gallery``
confusion matrix       ``confusion_matrix.png`` (best epoch)          chart ``val_confusion_matrix``
curves                 ``curves.png`` (every epoch)                   (the logged scalars)
gradients/parameters                                                  ``wandb.watch`` histograms
the page               ``index.html``
=====================  ============================================  ================================

Config keys: ``plots`` (False: none of the pictures), ``graph``, ``gallery_every``, ``gallery_size``,
``watch``, ``watch_every``.
A picture that cannot be drawn is a warning: it never stops training.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ignite.engine import Engine, Events

from ignite_fire.handlers.wandb_logging import run_files_dir, safe_log, warn_once

if TYPE_CHECKING:
    from ignite_fire.training import Run

GRAPH_STEM = "model_graph"


def guarded(what: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function``, with any exception turned into a warning (once): pictures never stop training."""

    def call(*args: Any) -> Any:
        try:
            return function(*args)
        except Exception as error:
            warn_once(f"{what} failed, training goes on: {type(error).__name__}: {error}")
            return None

    return call


def image_shape(run: Run) -> tuple[int, ...]:
    """The (C, H, W) of one validation image, or (3, image_size, image_size) if it cannot be read."""
    try:
        image = run.val_loader.dataset[0][0]
        if hasattr(image, "shape") and len(image.shape) == 3:
            return tuple(int(s) for s in image.shape)
    except Exception:
        pass
    size = int(run.config["image_size"])
    return (3, size, size)


def export_run_graph(run: Run) -> list[Path]:
    """``model_graph.*`` of the run's model in its run directory, and the PNG to W&B."""
    from ignite_fire.graph import example_batch, export_graph

    paths = export_graph(run.model, example_batch(run.model, image_shape(run)), run.run_dir / GRAPH_STEM)
    png = run.run_dir / f"{GRAPH_STEM}.png"
    if run.wandb_logger is not None and png in paths:
        try:
            import wandb

            safe_log(run.wandb_logger, {"model_graph": wandb.Image(str(png))}, run.trainer.state.iteration)
        except Exception as error:
            warn_once(f"W&B could not log the model graph: {type(error).__name__}: {error}")
    return paths


def gallery_files(run: Run) -> list[str] | None:
    """The image file of each validation position, when the loader reads the dataset in order."""
    from torch.utils.data import SequentialSampler

    samples = getattr(run.val_loader.dataset, "samples", None)
    if not isinstance(run.val_loader.sampler, SequentialSampler) or not isinstance(samples, list):
        return None
    data_dir = str(run.config.get("data_dir") or "")
    files = []
    for sample in samples:
        path = str(sample[0] if isinstance(sample, (tuple, list)) else sample)
        try:
            path = os.path.relpath(path, data_dir) if data_dir else path
        except ValueError:  # another drive on Windows
            pass
        files.append(path)
    return files


def watch_model(run: Run) -> None:
    """``wandb.watch`` the model's gradients and/or parameters every ``watch_every`` batches."""
    log = run.config.get("watch")
    if not log or run.wandb_logger is None:
        return
    every = int(run.config["watch_every"])
    try:
        run.wandb_logger.watch(run.model, log=log, log_freq=every)
    except Exception as error:
        warn_once(f"W&B could not watch the model ({type(error).__name__}: {error}); training goes on")


def attach_visuals(run: Run) -> None:
    """Attach the pictures of the module docstring to ``run`` (call after the W&B logger is started)."""
    import ignite.distributed as idist

    from ignite_fire.handlers.checkpoints import best_record
    from ignite_fire.handlers.confusion_matrix import ConfusionMatrixPlot
    from ignite_fire.handlers.curves import CurvesPlot
    from ignite_fire.handlers.prediction_gallery import PredictionGallery, normalization_of
    from ignite_fire.report import write_index

    if idist.get_rank() != 0:
        return
    config, trainer, evaluator = run.config, run.trainer, run.evaluator
    metric = str(config["checkpoint_metric"])
    gallery_every = int(config.get("gallery_every") or 0)
    gallery_size = int(config["gallery_size"])

    watch_model(run)
    if not config.get("plots", True):
        return
    if config.get("graph", True):
        trainer.add_event_handler(Events.STARTED, guarded("the model graph", lambda _: export_run_graph(run)))

    confusion = ConfusionMatrixPlot(run.classes, run.run_dir, trainer, metric, run.wandb_logger)
    best = best_record(run.history, metric)  # a resumed run goes on from its best epoch so far
    if best is not None:
        confusion.load_state_dict({"best_score": float(best[metric]), "best_epoch": int(best["epoch"])})
    evaluator.add_event_handler(Events.COMPLETED, guarded("the confusion matrix", confusion))

    if gallery_every:
        mean, std = normalization_of(run.val_loader.dataset)
        gallery = PredictionGallery(
            run.classes,
            run.run_dir,
            trainer,
            every=gallery_every,
            size=gallery_size,
            mean=mean,
            std=std,
            wandb_logger=run.wandb_logger,
            files=gallery_files(run),
        )
        evaluator.add_event_handler(Events.STARTED, gallery.reset)
        evaluator.add_event_handler(Events.ITERATION_COMPLETED, guarded("the prediction gallery", gallery.update))
        evaluator.add_event_handler(Events.COMPLETED, guarded("the prediction gallery", gallery))
        trainer.add_event_handler(Events.COMPLETED, guarded("the prediction gallery", gallery.draw_pending))

    curves = CurvesPlot(lambda: run.history, run.run_dir, metric, title=run.name)
    trainer.add_event_handler(Events.EPOCH_COMPLETED, guarded("the curves", curves))

    def index(running: bool) -> Callable[[Engine], Any]:
        return guarded("index.html", lambda _: write_index(run.run_dir, running, run_files_dir(run.wandb_logger)))

    trainer.add_event_handler(Events.STARTED, index(True))
    trainer.add_event_handler(Events.EPOCH_COMPLETED, index(True))
    trainer.add_event_handler(Events.COMPLETED, index(False))
