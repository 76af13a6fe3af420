"""Weights & Biases, offline by default: the one module that imports ``wandb`` or talks to a W&B run.

The training run goes through Ignite's :class:`~ignite.handlers.wandb_logger.WandBLogger`
(:func:`attach_wandb`: scalars, :func:`log_best_model`, :func:`finish`); the pictures hand their
images, tables and the confusion matrix to a :class:`RunLog` as plain data (:class:`Picture`: a file
or an array with a caption; tables as rows), never to ``wandb`` itself; the cv command logs its
summary run with :func:`log_cv_summary`. ``sweeps/wandb_backend.py`` (W&B's sweep service) and
``sync.py`` (the ``wandb sync`` tool) drive W&B's other tools, not a run's logging.

Every value is logged at the trainer's iteration, so the W&B step only ever increases (W&B
drops values logged at a smaller step). A failing W&B call is a warning, never a crash::

    wandb_logger = attach_wandb(config, keys, run_dir, name, run_id, trainer, evaluator, optimizer)
    log = picture_log(wandb_logger)  # None without W&B
    log.log_images({"train_batch": Picture("run/train_batch.png", "first batch")}, step=1)
"""

from __future__ import annotations

import logging
import os
import secrets
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from ignite.engine import Engine, Events
from ignite.handlers.wandb_logger import WandBLogger
from torch.optim import Optimizer

from ignite_fire.config import Bookkeeping
from ignite_fire.handlers.checkpoints import Value
from ignite_fire.loggers import train_scalars, val_scalars
from ignite_fire.warn import warn_once

logger = logging.getLogger(__name__)


def wandb_mode(given: str | None) -> str:
    """``--wandb_mode`` when ``given``, else ``$WANDB_MODE``, else ``"offline"``."""
    return given or os.environ.get("WANDB_MODE") or "offline"


class LogScalars:
    """Logs ``values(engine)`` to W&B at the trainer's current iteration; failures only warn (once).

    Args:
        wandb_logger: the run's WandBLogger.
        values: returns the ``{name: number}`` to log for an engine.
        step_engine: the engine whose ``state.iteration`` is the W&B step (the trainer).

    Example::

        wandb_logger.attach(evaluator, LogScalars(wandb_logger, lambda e: e.state.metrics, trainer),
                            Events.COMPLETED)
    """

    def __init__(
        self,
        wandb_logger: WandBLogger,
        values: Callable[[Engine], Mapping[str, Any]],
        step_engine: Engine,
    ) -> None:
        self.wandb_logger = wandb_logger
        self.values = values
        self.step_engine = step_engine

    def __call__(self, engine: Engine, *_: Any) -> None:
        safe_log(self.wandb_logger, dict(self.values(engine)), self.step_engine.state.iteration)


def safe_log(wandb_logger: WandBLogger | None, data: dict[str, Any], step: int) -> None:
    if wandb_logger is None or not data:
        return
    try:
        wandb_logger.log(data, step=step)
    except Exception as error:  # W&B must never stop training
        warn_once(f"W&B logging failed, training goes on: {type(error).__name__}: {error}")


def start_wandb(
    config: dict[str, Any], keys: Bookkeeping, run_dir: Path, run_name: str, run_id: str | None
) -> WandBLogger | None:
    """Start (or resume, when ``run_id`` names an earlier run) the W&B run of this training run.

    ``config`` is what the run page shows; ``keys`` the project, group, job type and mode.
    Returns None, with a warning, when W&B cannot start; training goes on without it.
    """
    mode = wandb_mode(keys.wandb_mode)
    if mode == "disabled":
        return None
    try:
        import wandb

        wandb_logger = WandBLogger(
            project=keys.wandb_project,
            name=run_name,
            group=keys.wandb_group,
            job_type=keys.wandb_job_type,
            config=config,
            dir=str(run_dir),
            id=run_id,
            resume="allow" if run_id else None,
            mode=mode,
            settings=wandb.Settings(console="off", silent=True, x_disable_stats=True),
        )
        wandb_logger.define_metric("val_acc", summary="max")
        return wandb_logger
    except Exception as error:
        warn_once(f"W&B could not start ({type(error).__name__}: {error}); training goes on without it")
        return None


def run_files_dir(wandb_logger: WandBLogger | None) -> str | None:
    """The local folder of the W&B run (the one ``wandb sync`` takes)."""
    if wandb_logger is None:
        return None
    try:
        return str(Path(wandb_logger.run.dir).parent)
    except Exception:
        return None


def log_best_model(wandb_logger: WandBLogger | None, path: Path, name: str, metadata: dict[str, Any]) -> None:
    """Log the best checkpoint as a model artifact with alias ``best``."""
    if wandb_logger is None:
        return
    try:
        import wandb

        artifact = wandb.Artifact(name=f"{name}-model".replace("/", "-"), type="model", metadata=metadata)
        artifact.add_file(str(path))
        wandb_logger.run.log_artifact(artifact, aliases=["best", "latest"])
    except Exception as error:
        warn_once(f"W&B could not store the best model ({type(error).__name__}: {error})")


def finish(wandb_logger: WandBLogger | None, summary: Mapping[str, Any], exit_code: int = 0) -> None:
    if wandb_logger is None:
        return
    try:
        for key, value in summary.items():
            wandb_logger.run.summary[key] = value
        wandb_logger.run.finish(exit_code=exit_code)
    except Exception as error:
        warn_once(f"W&B could not finish the run ({type(error).__name__}: {error})")


def attach_wandb(
    config: dict[str, Any],
    keys: Bookkeeping,
    run_dir: Path,
    name: str,
    run_id: Value,
    trainer: Engine,
    evaluator: Engine,
    optimizer: Optimizer,
) -> WandBLogger | None:
    """Start the W&B run (resumed when ``run_id.value`` names one; a new id is stored there otherwise)
    and log train scalars every ``log_every`` iterations and validation every epoch."""
    if run_id.value is None:
        run_id.value = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))
    wandb_logger = start_wandb(config, keys, run_dir, name, run_id.value)
    if wandb_logger is None:
        return None
    train_values = LogScalars(wandb_logger, lambda e: train_scalars(e, optimizer), trainer)
    val_values = LogScalars(wandb_logger, lambda e: val_scalars(e, trainer), trainer)
    wandb_logger.attach(trainer, train_values, Events.ITERATION_COMPLETED(every=keys.log_every))
    wandb_logger.attach(evaluator, val_values, Events.COMPLETED)
    return wandb_logger


@dataclass(frozen=True)
class Picture:
    """An image for the run's log: a file path or an (H, W, 3) uint8 array, and its caption."""

    image: Any
    caption: str | None = None


class RunLog:
    """What the pictures log to: images, tables (rows of values and :class:`Picture` cells) and the
    confusion matrix, each at a step. Building or logging that fails only warns (once per message).

    Args:
        wandb_logger: the run's WandBLogger.

    Example::

        log = RunLog(wandb_logger)
        log.log_table("val_predictions", ["image", "true"], [[Picture(array, "cat"), "cat"]], step=40)
    """

    def __init__(self, wandb_logger: WandBLogger) -> None:
        self.wandb_logger = wandb_logger

    def log_images(self, images: Mapping[str, Picture | Sequence[Picture]], step: int) -> None:
        """Log each name's picture (or list of pictures) at ``step``."""
        try:
            data = {name: self._image(value) for name, value in images.items()}
        except Exception as error:  # W&B must never stop training
            warn_once(f"W&B images {', '.join(images)} could not be built: {type(error).__name__}: {error}")
            return
        safe_log(self.wandb_logger, data, step)

    def log_table(
        self,
        name: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        step: int,
        images: Mapping[str, Sequence[Picture]] | None = None,
    ) -> None:
        """Log the table ``name`` (and, in the same call, the picture lists ``images``) at ``step``."""
        try:
            import wandb

            built: dict[int, Any] = {}  # a Picture in a row and in ``images`` is one W&B image
            table = wandb.Table(columns=list(columns))
            for row in rows:
                table.add_data(*(self._image(v, built) if isinstance(v, Picture) else v for v in row))
            data = {name: table, **{k: [self._image(p, built) for p in v] for k, v in (images or {}).items()}}
        except Exception as error:  # W&B must never stop training
            warn_once(f"W&B table {name} could not be built: {type(error).__name__}: {error}")
            return
        safe_log(self.wandb_logger, data, step)

    def log_confusion_matrix(
        self, name: str, classes: Sequence[str], counts: Sequence[Sequence[int]], title: str, step: int
    ) -> None:
        """W&B's confusion-matrix chart of ``counts`` (rows = actual class) at ``step``."""
        try:
            import wandb

            n = len(classes)
            data = [[classes[i], classes[j], counts[i][j]] for i in range(n) for j in range(n)]
            table = wandb.Table(columns=["Actual", "Predicted", "nPredictions"], data=data)
            fields = {"Actual": "Actual", "Predicted": "Predicted", "nPredictions": "nPredictions"}
            chart = wandb.plot_table("wandb/confusion_matrix/v1", table, fields, {"title": title})
        except Exception as error:  # W&B must never stop training
            warn_once(f"W&B confusion matrix could not be built: {type(error).__name__}: {error}")
            return
        safe_log(self.wandb_logger, {name: chart}, step)

    def watch(self, model: torch.nn.Module, log: str | None, every: int) -> None:
        """``wandb.watch`` the model's ``log`` ("gradients", "parameters", "all") every ``every`` batches."""
        if not log:
            return
        try:
            self.wandb_logger.watch(model, log=log, log_freq=every)
        except Exception as error:
            warn_once(f"W&B could not watch the model ({type(error).__name__}: {error}); training goes on")

    def files_dir(self) -> str | None:
        """The local folder of the W&B run (the one ``wandb sync`` takes)."""
        return run_files_dir(self.wandb_logger)

    @staticmethod
    def _image(value: Picture | Sequence[Picture], built: dict[int, Any] | None = None) -> Any:
        import wandb

        if not isinstance(value, Picture):
            return [RunLog._image(p, built) for p in value]
        built = {} if built is None else built
        if id(value) not in built:
            image = str(value.image) if isinstance(value.image, Path) else value.image
            built[id(value)] = wandb.Image(image, caption=value.caption)
        return built[id(value)]


def picture_log(wandb_logger: WandBLogger | None) -> RunLog | None:
    """The :class:`RunLog` the pictures log to, or None when the run has no W&B."""
    return RunLog(wandb_logger) if wandb_logger is not None else None


def log_cv_summary(
    keys: Bookkeeping,
    cv_dir: Path,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    summary: Mapping[str, Any],
    tables: Mapping[str, tuple[Sequence[str], Sequence[Sequence[Any]]]] | None = None,
    images: Mapping[str, Picture] | None = None,
) -> None:
    """One W&B run (job_type "cv") in the folds' group (``cv_dir``'s name): the table ``folds`` of ``rows``,
    more ``tables`` ({name: (columns, rows)}) and ``images``, and ``summary`` in the run's summary."""
    mode = wandb_mode(keys.wandb_mode)
    if mode == "disabled":
        return
    try:
        import wandb

        run = wandb.init(
            project=keys.wandb_project,
            name=f"{cv_dir.name}-cv",
            group=cv_dir.name,
            job_type="cv",
            dir=str(cv_dir),
            mode=mode,  # type: ignore[arg-type]  # a str (config or $WANDB_MODE); wandb.init checks it
            settings=wandb.Settings(console="off", silent=True, x_disable_stats=True),
        )
        run.log({"folds": wandb.Table(columns=list(columns), data=[list(r) for r in rows])})
        extra: dict[str, Any] = {
            name: wandb.Table(columns=list(cols), data=[list(r) for r in rows])
            for name, (cols, rows) in (tables or {}).items()
        }
        extra |= {k: wandb.Image(p.image, caption=p.caption) for k, p in (images or {}).items()}
        if extra:
            run.log(extra)
        run.summary.update(dict(summary))
        run.finish()
    except Exception as error:
        warn_once(f"W&B cv summary not logged ({type(error).__name__}: {error})")
