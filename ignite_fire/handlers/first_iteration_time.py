from __future__ import annotations

import logging
import time

from ignite.engine import Engine, Events

logger = logging.getLogger("ignite_fire")


class FirstIterationTime:
    """Logs how long the first iteration of an engine took: with ``compile=True``, the compilation time.

    ``torch.compile`` compiles on the first call, so the first training (and the first evaluation)
    iteration takes seconds to minutes; this handler makes that visible in the log and keeps the
    value in ``seconds``. It measures the host time from ``ITERATION_STARTED`` to
    ``ITERATION_COMPLETED`` of the engine's first iteration in this process (the step itself, not
    the data loading).

    Args:
        label: names the engine in the message, e.g. ``"training"``.

    Example::

        FirstIterationTime("training").attach(trainer)
        # log: "torch.compile: the first training iteration took 41.2 s (compilation included)"
    """

    def __init__(self, label: str) -> None:
        if not isinstance(label, str) or not label:
            raise ValueError(f"Argument label should be a non-empty string, got {label!r}")
        self.label = label
        self.seconds: float | None = None
        self._start: float | None = None

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.ITERATION_STARTED(once=1), self._started)
        engine.add_event_handler(Events.ITERATION_COMPLETED(once=1), self)

    def _started(self, _: Engine) -> None:
        self._start = time.perf_counter()

    def __call__(self, _: Engine) -> None:
        if self._start is None or self.seconds is not None:
            return
        self.seconds = time.perf_counter() - self._start
        logger.info(f"torch.compile: the first {self.label} iteration took {self.seconds:.1f} s (compilation included)")
