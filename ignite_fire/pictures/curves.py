"""The curves handler: ``curves.png`` redrawn from the history after every epoch."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ignite.engine import Engine, Events

from ignite_fire.handlers.checkpoints import best_record
from ignite_fire.pictures.drawing import plot_curves
from ignite_fire.pictures.guard import guarded

History = Sequence[Mapping[str, Any]]


def best_epoch(history: History, metric: str) -> int | None:
    """The first epoch with the best finite ``metric`` in ``history`` (lower is better for losses)."""
    record = best_record(history, metric)
    return int(record["epoch"]) if record is not None else None


class CurvesPlot:
    """Redraws ``{output_dir}/curves.png`` from the run's history after every epoch, to watch a run live.

    The picture has train/val loss, val accuracy, macro F1 and the competition score (val_score), and the learning rate
    against epoch, with the best epoch by ``metric`` marked.

    Args:
        history: returns the per-epoch records (``history.json``: epoch, train_loss, val_acc, lr, ...).
        output_dir: where ``curves.png`` goes.
        metric: the validation metric whose best epoch is marked.
        title: drawn above the curves (the run name, say).

    Example::

        CurvesPlot(lambda: history, run_dir, "val_acc").attach(trainer)  # after validation fills history
    """

    filename = "curves.png"

    def __init__(
        self,
        history: Callable[[], History],
        output_dir: str | Path,
        metric: str = "val_acc",
        title: str = "",
    ) -> None:
        if not callable(history):
            raise TypeError(f"Argument history should be a function returning the records, got {type(history)}")
        if not isinstance(metric, str) or not metric:
            raise ValueError(f"Argument metric should be a metric name, got {metric!r}")
        self.history = history
        self.output_dir = Path(output_dir)
        self.metric = metric
        self.title = title

    @property
    def path(self) -> Path:
        return self.output_dir / self.filename

    def attach(self, trainer: Engine) -> None:
        """Redraw after every epoch (attach after validation); a failure only warns (:func:`guarded`)."""
        trainer.add_event_handler(Events.EPOCH_COMPLETED, guarded("the curves", self))

    def __call__(self, _: Engine | None = None) -> Path | None:
        records = list(self.history())
        if not records:
            return None
        return plot_curves(records, self.path, best_epoch=best_epoch(records, self.metric), title=self.title)
