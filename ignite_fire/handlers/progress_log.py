"""Progress as log lines, for logs that are not a terminal (nohup, Slurm, CI, ``| tee``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from ignite.engine import Engine, Events


def duration_text(seconds: float) -> str:
    """``6m10s``, ``1h02m``, ``45s``: short enough for a progress line."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def progress_line(
    done: int, total: int | None, items: int, seconds: float, remaining: float | None, unit: str = "iter"
) -> str:
    """``iter 120/400  41.3 img/s  eta 6m10s``: what a loop that is not an Engine (predict) logs too.

    ``remaining`` is the work left in units of ``done``, or None when unknown (no eta).
    """
    text = f"{unit} {done}/{total}" if total else f"{unit} {done}"
    if seconds > 0:
        text += f"  {items / seconds:.1f} img/s"
    if remaining is not None and done > 0 and seconds > 0:
        text += f"  eta {duration_text(seconds / done * remaining)}"
    return text


def batch_images(batch: Any) -> int:
    """The images in a batch: the length of its first element (``(images, labels)``), else of the batch."""
    first = batch[0] if isinstance(batch, (list, tuple)) and batch else batch
    try:
        return len(first)
    except TypeError:
        return 0


class ProgressLog:
    """Logs ``epoch 2/10  iter 120/400  41.3 img/s  eta 6m10s`` at most every ``every`` seconds and at each
    epoch's end: Ignite's ProgressBar for logs that are not a terminal.

    The img/s is this epoch's; the eta is for the rest of the run (its validations included: it is the
    time per iteration since the run started), plus ``runs_after`` more runs of the same length (the
    folds a cv trains after this one), so a cv shows its overall eta.

    Args:
        every: seconds between two lines inside an epoch (> 0).
        prefix: put before each line, e.g. ``"fold 2/5  "``.
        runs_after: further runs of the same length the eta includes (>= 0).
        clock: returns seconds (``time.monotonic``; tests pass a fake one).
        log: where the lines go (the ``ignite_fire`` logger's info).
        processes: the processes that each train on a batch this size (img/s is theirs together).

    Example::

        ProgressLog(every=30).attach(trainer)
        # epoch 1/10  iter 120/400  41.3 img/s  eta 6m10s
    """

    def __init__(
        self,
        every: float = 30.0,
        prefix: str = "",
        runs_after: int = 0,
        clock: Callable[[], float] = time.monotonic,
        log: Callable[[str], None] | None = None,
        processes: int = 1,
    ) -> None:
        if isinstance(every, bool) or not isinstance(every, (int, float)) or not every > 0:
            raise ValueError(f"Argument every should be a positive number of seconds, got {every!r}")
        if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
            raise ValueError(f"Argument processes should be a positive integer, got {processes!r}")
        if isinstance(runs_after, bool) or not isinstance(runs_after, int) or runs_after < 0:
            raise ValueError(f"Argument runs_after should be a non-negative integer, got {runs_after!r}")
        self.every = float(every)
        self.prefix = prefix
        self.runs_after = runs_after
        self.processes = processes
        self.clock = clock
        self.log = log or logging.getLogger("ignite_fire").info
        self.started = self.epoch_started = self.last_line = 0.0
        self.first_iteration = self.epoch_first_iteration = 0
        self.images = 0

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.STARTED, self._start)
        engine.add_event_handler(Events.EPOCH_STARTED, self._start_epoch)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self)
        engine.add_event_handler(Events.EPOCH_COMPLETED, self.write)

    def _start(self, engine: Engine) -> None:
        self.started = self.clock()
        self.first_iteration = engine.state.iteration  # a resumed run starts past 0

    def _start_epoch(self, engine: Engine) -> None:
        self.epoch_started = self.last_line = self.clock()
        self.epoch_first_iteration = engine.state.iteration
        self.images = 0

    def __call__(self, engine: Engine) -> None:
        self.images += batch_images(engine.state.batch)
        if self.clock() - self.last_line >= self.every:
            self.write(engine)

    def write(self, engine: Engine) -> None:
        """Log the line now."""
        state, now = engine.state, self.clock()
        self.last_line = now
        length = state.epoch_length
        total_iterations = length * state.max_epochs if length and state.max_epochs else None
        remaining = None
        if total_iterations is not None:
            remaining = total_iterations - state.iteration + self.runs_after * total_iterations
        in_epoch = (state.iteration - 1) % length + 1 if length else state.iteration - self.epoch_first_iteration
        line = progress_line(
            in_epoch,  # a run resumed mid-epoch counts from the epoch's start too
            length,
            self.images * self.processes,
            now - self.epoch_started,
            None,
        )
        done = state.iteration - self.first_iteration
        if remaining is not None and done > 0 and now > self.started:
            line += f"  eta {duration_text((now - self.started) / done * remaining)}"
        self.log(f"{self.prefix}epoch {state.epoch}/{state.max_epochs}  {line}")


class LoopProgress:
    """The same lines for a plain loop (predict, explain): ``update(images)`` after each batch logs
    ``PREFIX batch 3/40  41.3 img/s  eta 1m10s`` at most every ``every`` seconds, and at the last batch.

    Example::

        progress = LoopProgress(len(loader), prefix="predict: ")
        for images in loader:
            ...
            progress.update(len(images))
    """

    def __init__(
        self,
        total: int,
        every: float = 30.0,
        prefix: str = "",
        clock: Callable[[], float] = time.monotonic,
        log: Callable[[str], None] | None = None,
    ) -> None:
        if isinstance(total, bool) or not isinstance(total, int) or total < 0:
            raise ValueError(f"Argument total should be a non-negative integer, got {total!r}")
        if isinstance(every, bool) or not isinstance(every, (int, float)) or not every > 0:
            raise ValueError(f"Argument every should be a positive number of seconds, got {every!r}")
        self.total, self.every, self.prefix, self.clock = total, float(every), prefix, clock
        self.log = log or logging.getLogger("ignite_fire").info
        self.started = self.last_line = clock()
        self.done = self.images = 0

    def update(self, images: int) -> None:
        self.done += 1
        self.images += images
        now = self.clock()
        if now - self.last_line >= self.every or (self.done == self.total and now - self.started >= self.every):
            self.last_line = now
            seconds, remaining = now - self.started, self.total - self.done
            self.log(self.prefix + progress_line(self.done, self.total, self.images, seconds, remaining, "batch"))
