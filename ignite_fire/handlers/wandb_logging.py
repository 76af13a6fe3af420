"""Weights & Biases through Ignite's :class:`~ignite.handlers.wandb_logger.WandBLogger`, offline by default.

Every value is logged at the trainer's iteration, so the W&B step only ever increases (W&B
drops values logged at a smaller step). A failing W&B call is a warning, never a crash.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ignite.engine import Engine
from ignite.handlers.wandb_logger import WandBLogger

from ignite_fire.config import Bookkeeping
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
