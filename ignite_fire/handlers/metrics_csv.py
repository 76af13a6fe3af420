"""``metrics.csv``: one row per epoch, with the names the W&B run uses."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ignite.engine import Engine, Events

from ignite_fire.files import write_text_atomic

# history.json's names -> the W&B run's (training.py logs the learning rate as "learning_rate").
RENAMED = {"iteration": "step", "lr": "learning_rate"}
LEFT_OUT = ("train_seconds", "train_samples", "val_seconds")  # timings: in history.json, not in W&B


class MetricsCSV:
    """Rewrites ``path`` from the run's epoch records after every epoch: a header, then one row per epoch.

    The columns are ``epoch``, ``step`` (the trainer's iteration, which is the W&B step) and every
    metric of the records under its W&B name (``train_loss``, ``val_acc``, ``learning_rate``, ...),
    in the order they first appear. The file is written whole to a temporary file and renamed over
    ``path`` (see :func:`ignite_fire.files.write_text_atomic`), so it is never half written, and it
    always holds exactly the records given: after a resume (the records come back from the ``last``
    checkpoint) it has each epoch once.

    Args:
        path: the CSV file, e.g. ``runs/NAME/metrics.csv``.
        records: returns the epoch records so far (``run.history``: dicts of numbers with ``epoch``).

    Example::

        MetricsCSV(run_dir / "metrics.csv", lambda: history).attach(trainer)  # after the handler that appends
    """

    def __init__(self, path: str | Path, records: Callable[[], Sequence[Mapping[str, Any]]]) -> None:
        if not callable(records):
            raise TypeError("Argument records should be callable.")
        self.path = Path(path)
        self.records = records

    @staticmethod
    def row_of(record: Mapping[str, Any]) -> dict[str, Any]:
        return {RENAMED.get(k, k): v for k, v in record.items() if k not in LEFT_OUT}

    def __call__(self, _: Engine | None = None) -> None:
        rows = [self.row_of(r) for r in self.records()]
        columns: dict[str, None] = {}
        for row in rows:
            columns.update(dict.fromkeys(row))
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_text_atomic(self.path, text.getvalue())

    def attach(self, trainer: Engine) -> None:
        trainer.add_event_handler(Events.EPOCH_COMPLETED, self)
