"""What a sweep says about itself: the opening line, and after each trial how long the rest should take."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from ignite_fire.sweeps.config import SweepSpec

logger = logging.getLogger("ignite_fire")


def format_params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


def hyperband_checks(spec: SweepSpec, epochs: int | None) -> list[int]:
    """The epochs at which hyperband may stop a trial: ``min_iter * eta**k`` before the last epoch.

    With ``epochs`` None (searched) the checks below 1000 epochs are listed.
    """
    if spec.hyperband is None:
        return []
    last = epochs if epochs is not None else 1000
    checks, epoch = [], spec.hyperband.min_iter
    while epoch < last:
        checks.append(epoch)
        epoch *= spec.hyperband.eta
    return checks


def header(spec: SweepSpec, name: str, epochs: int | None) -> str:
    """``sweep NAME: bayes over learning_rate, batch_size; maximize val_acc; ...`` (epochs None: searched)."""
    searched = ", ".join(spec.parameters) or "nothing"
    text = f"sweep {name}: {spec.method} over {searched}; {spec.goal} {spec.metric}"
    if spec.fixed:
        text += f"; fixed {format_params(spec.fixed)}"
    if spec.hyperband is not None:
        checks = hyperband_checks(spec, epochs)
        if checks:
            shown = ", ".join(map(str, checks[:4])) + (", ..." if len(checks) > 4 else "")
            text += f"; hyperband may stop a trial after epoch {shown} (eta {spec.hyperband.eta})"
        else:
            text += f"; hyperband prunes nothing: its first check (epoch {spec.hyperband.min_iter}) is not before "
            text += f"the last epoch (--epochs={epochs})"
    return text


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


class SweepProgress:
    """Optuna callback: after each trial this worker ran, how many are done and an estimate of the rest.

    The estimate is the mean wall time of this worker's trials so far times the trials it has left.

    Args:
        total: trials this worker runs (``--count``, or what ``--resume`` lacks).
        clock: seconds (``time.monotonic``); a test may pass its own.

    Example::

        study.optimize(objective, n_trials=10, callbacks=[SweepProgress(10)])
    """

    def __init__(self, total: int, clock: Callable[[], float] = time.monotonic) -> None:
        if total < 1:
            raise ValueError(f"Argument total should be >= 1, got {total}.")
        self.total = total
        self.clock = clock
        self.started = clock()
        self.done = 0

    def estimate(self) -> str:
        elapsed = self.clock() - self.started
        left = self.total - self.done
        text = f"{self.done} of {self.total} trials done in {_minutes(elapsed)}"
        if left <= 0:
            return text
        remaining = elapsed / self.done * left
        finish = (datetime.now() + timedelta(seconds=remaining)).strftime("%H:%M")
        return f"{text}; about {_minutes(remaining)} to go (ETA {finish})"

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self.done += 1
        logger.info(f"sweep {study.study_name}: {self.estimate()}")
