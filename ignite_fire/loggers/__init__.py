"""Where a run's numbers go besides ``history.json``: the ``loggers`` config key.

``loggers`` lists any of ``wandb`` (the W&B run, offline by default), ``csv`` (``metrics.csv``,
one row per epoch) and ``tensorboard`` (``tensorboard/`` in the run directory: the W&B scalars,
the prediction gallery and the confusion matrix). The default is ``["wandb", "csv"]``.
``--wandb_mode=disabled`` turns off W&B only; the others still write. W&B lives in
:mod:`ignite_fire.loggers.wandb` (the one module that talks to a W&B run); the CSV and TensorBoard
handlers are in ``handlers/metrics_csv.py`` and ``handlers/tensorboard_logging.py``.

    python -m ignite_fire experiments/quickstart.py --loggers=wandb,csv,tensorboard
    tensorboard --logdir runs/
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ignite.engine import Engine, Events
from torch.optim import Optimizer

from ignite_fire.config import RunConfig, logger_names
from ignite_fire.finetune import group_learning_rates
from ignite_fire.handlers.metrics_csv import MetricsCSV
from ignite_fire.metrics import scalar_metrics

TRAIN_NAMES = ("train_loss", "train_acc")


def train_scalars(engine: Engine, optimizer: Optimizer) -> dict[str, float]:
    """What W&B and TensorBoard log every ``log_every`` iterations: the train loss and accuracy, the learning
    rate (``lr/NAME`` of each parameter group too, when there are several) and the epoch."""
    values = {k: float(v) for k, v in engine.state.metrics.items() if k in TRAIN_NAMES}
    values["learning_rate"] = float(optimizer.param_groups[0]["lr"])
    values.update(group_learning_rates(optimizer))
    values["epoch"] = engine.state.epoch
    return values


def val_scalars(evaluator: Engine, trainer: Engine) -> dict[str, float]:
    """What W&B and TensorBoard log after each validation: its scalar metrics and the trainer's epoch."""
    return {**scalar_metrics(evaluator.state.metrics), "epoch": trainer.state.epoch}


def attach_tensorboard(
    run_dir: Path, trainer: Engine, evaluator: Engine, optimizer: Optimizer, log_every: int, plots: bool
) -> None:
    """TensorBoard in ``run_dir/tensorboard``: the W&B scalars (same functions, same steps) and the pictures."""
    from ignite_fire.handlers.tensorboard_logging import TensorBoardPictures, TensorBoardScalars, start_tensorboard

    tb_logger = start_tensorboard(run_dir / "tensorboard")

    every = log_every
    train_values = TensorBoardScalars(lambda engine: train_scalars(engine, optimizer), trainer)
    val_values = TensorBoardScalars(lambda engine: val_scalars(engine, trainer), trainer)
    tb_logger.attach(trainer, train_values, Events.ITERATION_COMPLETED(every=every))
    tb_logger.attach(evaluator, val_values, Events.COMPLETED)
    if plots:
        pictures = TensorBoardPictures(run_dir, trainer)
        tb_logger.attach(trainer, pictures, Events.EPOCH_COMPLETED)  # after validation drew them
        tb_logger.attach(trainer, pictures, Events.COMPLETED)  # a gallery drawn at the end
    trainer.add_event_handler(Events.COMPLETED, lambda _: tb_logger.close())


def attach_loggers(
    settings: RunConfig,
    run_dir: Path,
    trainer: Engine,
    evaluator: Engine,
    optimizer: Optimizer,
    history: Callable[[], Sequence[Mapping[str, Any]]],
) -> None:
    """``metrics.csv`` (rows from ``history()``) and TensorBoard, as ``loggers`` asks; W&B is started
    before the pictures (:func:`ignite_fire.loggers.wandb.attach_wandb`). Attach after the handler that
    appends each epoch's record and after the pictures."""
    names = logger_names(settings.bookkeeping.loggers)
    if "csv" in names:
        MetricsCSV(run_dir / "metrics.csv", history).attach(trainer)
    if "tensorboard" in names:
        every, plots = settings.bookkeeping.log_every, settings.pictures.plots
        attach_tensorboard(run_dir, trainer, evaluator, optimizer, every, plots)
