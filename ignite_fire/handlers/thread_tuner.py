from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from ignite.engine import Engine, Events

logger = logging.getLogger("ignite_fire")


class ThreadTuner:
    """Tries torch's intra-op thread counts on the first training iterations and keeps the fastest.

    No fixed rule knows whether the DataLoader workers keep their cores busy (large JPEGs, a small
    model) or mostly wait (a model that is the bottleneck): on 2 cores with 2 workers, one thread lost
    a third against two on a quiet machine, while two threads beside a busy process lost by half. So
    the run measures: after ``warmup`` iterations, each candidate runs ``window`` iterations (one more
    first, to let a changed thread pool settle), timed from asking for the batch to the end of the step,
    so data waits count and validation does not. The first candidate (the rule's count) is kept unless
    another is at least ``margin`` faster by the median.

    The choice is saved in ``last.pt``: a resumed run keeps it instead of tuning again.

    Args:
        candidates: the thread counts to try, the default first (each >= 1, no repeats).
        warmup: iterations before timing starts (the first batches start workers and allocators).
        window: timed iterations per candidate (>= 3).
        margin: how much faster (a fraction) another count must be to replace the first.
        clock: the time source (seconds).

    Example::

        ThreadTuner([1, 2]).attach(trainer)   # what `train` does on the CPU unless --threads or OMP_NUM_THREADS
        ...
        tuner.chosen                          # 2, after 5 + 2 * 11 iterations
    """

    def __init__(
        self,
        candidates: Sequence[int],
        warmup: int = 5,
        window: int = 10,
        margin: float = 0.05,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        candidates = list(candidates)
        if not candidates or any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in candidates):
            raise ValueError(f"Argument candidates should be positive integers, got {candidates!r}")
        if len(set(candidates)) != len(candidates):
            raise ValueError(f"Argument candidates should not repeat a count, got {candidates!r}")
        if warmup < 0:
            raise ValueError(f"Argument warmup should be non-negative, got {warmup}")
        if window < 3:
            raise ValueError(f"Argument window should be at least 3, got {window}")
        if not 0 <= margin < 1:
            raise ValueError(f"Argument margin should be in [0, 1), got {margin}")
        self.candidates = candidates
        self.warmup = warmup
        self.window = window
        self.margin = margin
        self.clock = clock
        self.chosen: int | None = candidates[0] if len(candidates) == 1 else None
        self.seconds: dict[int, list[float]] = {c: [] for c in candidates}
        # After warm-up, per iteration: the candidate it times, or None for the settling one.
        self._slots: list[int | None] = [s for c in candidates for s in [None] + [c] * window]
        self._completed = 0
        self._fetch_started: float | None = None

    def attach(self, engine: Engine) -> None:
        torch.set_num_threads(self.candidates[0] if self.chosen is None else self.chosen)  # the warm-up's count
        engine.add_event_handler(Events.GET_BATCH_STARTED, self._started)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self)

    def _started(self, _: Engine) -> None:
        self._fetch_started = self.clock()

    def __call__(self, _: Engine) -> None:
        if self.chosen is not None or self._fetch_started is None:
            return
        seconds = self.clock() - self._fetch_started
        slot = self._completed - self.warmup  # the slot this iteration ran in (negative: warming up)
        self._completed += 1
        if 0 <= slot < len(self._slots) and self._slots[slot] is not None:
            self.seconds[self._slots[slot]].append(seconds)  # type: ignore[index]  # not None: checked
        following = slot + 1
        if following >= len(self._slots):
            self._choose()
        elif following >= 0 and self._slots[following] is None:  # the next candidate starts with a settling step
            torch.set_num_threads(self._slots[following + 1])  # type: ignore[arg-type]  # a count follows a None

    def _choose(self) -> None:
        medians = {c: statistics.median(s) for c, s in self.seconds.items()}
        first = self.candidates[0]
        fastest = min(medians, key=lambda c: medians[c])
        self.chosen = fastest if medians[fastest] < medians[first] * (1 - self.margin) else first
        torch.set_num_threads(self.chosen)
        timings = ", ".join(f"{c}: {medians[c] * 1000:.0f} ms" for c in self.candidates)
        logger.debug(f"torch intra-op threads: {self.chosen} (median per iteration with {timings})")

    def state_dict(self) -> dict[str, Any]:
        return {"chosen": self.chosen}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        chosen = state_dict.get("chosen")
        if chosen is not None:  # tuned before the checkpoint: keep that count
            self.chosen = int(chosen)
            torch.set_num_threads(self.chosen)
