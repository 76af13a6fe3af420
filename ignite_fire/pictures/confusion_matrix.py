"""The confusion-matrix handler: W&B chart every evaluation, local PNG of the best epoch."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ignite.engine import Engine, Events

from ignite_fire.handlers.checkpoints import score_sign
from ignite_fire.loggers.wandb import RunLog
from ignite_fire.pictures.drawing import plot_confusion_matrix
from ignite_fire.pictures.fonts import LabelFonts, display_label, label_fonts
from ignite_fire.pictures.guard import guarded
from ignite_fire.warn import warn_once


class ConfusionMatrixPlot:
    """The validation confusion matrix: to W&B after every evaluation, and as a local PNG of the best epoch.

    Reads ``evaluator.state.metrics[key]`` (a (C, C) tensor of counts, rows = true class). When
    the evaluation's ``metric`` is the best so far (lower is better for losses), it draws
    ``{output_dir}/confusion_matrix.png`` (counts and row-normalised). With a ``log`` (the W&B run) it logs
    ``val_confusion_matrix`` (W&B's confusion-matrix chart) at the trainer's iteration every time.

    Args:
        classes: class names, in the model's output order.
        output_dir: where ``confusion_matrix.png`` goes.
        trainer: the trainer; its epoch goes in the title and its iteration is the W&B step.
        metric: the validation metric that decides the best epoch (the checkpoint metric).
        log: the run's :class:`~ignite_fire.loggers.wandb.RunLog` (W&B), or None.
        key: the confusion-matrix metric's name in ``evaluator.state.metrics``.

    Its state (the best score and epoch so far) is in ``state_dict()``.

    Example::

        plot = ConfusionMatrixPlot(classes, run_dir, trainer, metric="val_macro_f1")
        plot.attach(evaluator)
    """

    filename = "confusion_matrix.png"

    def __init__(
        self,
        classes: Sequence[str],
        output_dir: str | Path,
        trainer: Engine,
        metric: str = "val_acc",
        log: RunLog | None = None,
        key: str = "val_confusion_matrix",
    ) -> None:
        if not classes:
            raise ValueError("Argument classes should not be empty")
        if not isinstance(metric, str) or not metric:
            raise ValueError(f"Argument metric should be a metric name, got {metric!r}")
        self.classes = list(classes)
        self.output_dir = Path(output_dir)
        self.trainer = trainer
        self.metric = metric
        self.log = log
        self.key = key
        self.best_score: float | None = None
        self.best_epoch: int | None = None
        self.fonts: LabelFonts | None = None

    def attach(self, evaluator: Engine) -> None:
        """Draw at the end of every evaluation; a failure only warns (:func:`guarded`)."""
        evaluator.add_event_handler(Events.COMPLETED, guarded("the confusion matrix", self))

    @property
    def path(self) -> Path:
        return self.output_dir / self.filename

    def __call__(self, engine: Engine) -> None:
        confusion = engine.state.metrics.get(self.key)
        if confusion is None:
            warn_once(f"evaluator has no metric {self.key!r}: no confusion matrix is drawn")
            return
        if self.fonts is None:
            self.fonts = label_fonts(self.classes)
        self._log_wandb(confusion)
        score = engine.state.metrics.get(self.metric)
        score = float(score) if isinstance(score, (int, float)) or hasattr(score, "item") else math.nan
        better = self.best_score is None or score_sign(self.metric) * score > score_sign(self.metric) * self.best_score
        if math.isfinite(score) and better:
            epoch = self.trainer.state.epoch
            self.best_score, self.best_epoch = score, epoch
            labels = [display_label(name, i, self.fonts) for i, name in enumerate(self.classes)]
            title = f"validation, epoch {epoch} ({self.metric} {score:.4f}, best so far)"
            plot_confusion_matrix(confusion, labels, self.path, title=title, fonts=self.fonts)

    def _log_wandb(self, confusion: Any) -> None:
        if self.log is None:
            return
        title = f"validation confusion matrix (epoch {self.trainer.state.epoch})"
        self.log.log_confusion_matrix(
            "val_confusion_matrix", self.classes, confusion.tolist(), title, self.trainer.state.iteration
        )

    def state_dict(self) -> dict[str, Any]:
        return {"best_score": self.best_score, "best_epoch": self.best_epoch}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        self.best_score = state_dict.get("best_score")
        self.best_epoch = state_dict.get("best_epoch")
