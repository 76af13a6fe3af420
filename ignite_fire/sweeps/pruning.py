from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any

import optuna
from ignite.engine import Engine

from ignite_fire.errors import UserError

logger = logging.getLogger("ignite_fire")


class ReportToTrial:
    """Reports a validation metric to an Optuna trial after every evaluation, and stops the
    trainer cleanly (at the end of this epoch) when the trial's pruner says it is behind.

    The step reported is the trainer's epoch, so W&B's ``early_terminate`` brackets
    (``min_iter``, ``min_iter * eta``, ...) are epochs.

    Args:
        trial: the Optuna trial of this training run.
        metric: a name in ``evaluator.state.metrics``, e.g. ``"val_acc"``.
        trainer: the engine to terminate; its ``state.epoch`` is the step.

    Example::

        report = ReportToTrial(trial, "val_acc", trainer)
        evaluator.add_event_handler(Events.COMPLETED, report)
        trainer.run(loader, max_epochs=10)
        if report.pruned_at is not None:
            raise optuna.TrialPruned()
    """

    def __init__(self, trial: optuna.Trial, metric: str, trainer: Engine) -> None:
        if not isinstance(metric, str) or not metric:
            raise ValueError(f"Argument metric should be a non-empty string, got {metric!r}.")
        if not isinstance(trainer, Engine):
            raise TypeError("Argument trainer should be an instance of Engine.")
        self.trial = trial
        self.metric = metric
        self.trainer = trainer
        self.pruned_at: int | None = None

    def report_history(self, history: Iterable[Mapping[str, Any]]) -> None:
        """Report the epochs of a resumed run again (the trial re-running it starts empty)."""
        for record in history:
            if self.metric in record:
                self.trial.report(float(record[self.metric]), int(record["epoch"]))

    def __call__(self, engine: Engine) -> None:
        if self.metric not in engine.state.metrics:
            names = ", ".join(sorted(k for k in engine.state.metrics if not k.endswith("matrix"))[:12])
            raise UserError(f"sweep metric {self.metric!r} is not computed here: use one of {names}")
        value = float(engine.state.metrics[self.metric])
        epoch = self.trainer.state.epoch
        self.trial.report(value if math.isfinite(value) else math.nan, epoch)
        if epoch < (self.trainer.state.max_epochs or 0) and self.trial.should_prune():
            self.pruned_at = epoch
            logger.info(f"trial {self.trial.number} pruned after epoch {epoch}: {self.metric} {value:.4g} is behind")
            self.trainer.terminate()
