from __future__ import annotations

import logging
from collections.abc import Callable

from ignite.engine import Engine, Events


class StopAt:
    """Stops the trainer cleanly after a given epoch or iteration, as a pre-emption would.

    After an epoch, everything that runs at its end (validation, the ``last`` checkpoint) has
    run; in the middle of an epoch ``on_stop(engine)`` runs first (it saves the ``last``
    checkpoint). COMPLETED does not fire: the run is paused, not finished, and
    ``--resume`` continues it.

    Args:
        epoch: stop after this epoch completes (>= 1), or None.
        iteration: stop after this iteration completes (>= 1), or None.
        on_stop: called with the engine before a mid-epoch stop.

    Example::

        StopAt(epoch=2).attach(trainer)   # python -m ignite_fire exp.py --stop_after_epoch=2
    """

    def __init__(
        self,
        epoch: int | None = None,
        iteration: int | None = None,
        on_stop: Callable[[Engine], None] | None = None,
    ) -> None:
        for name, value in (("epoch", epoch), ("iteration", iteration)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ValueError(f"Argument {name} should be a positive integer or None, got {value!r}")
        self.epoch = epoch
        self.iteration = iteration
        self.on_stop = on_stop
        self.stopped = False
        self.logger = logging.getLogger("ignite_fire")

    def attach(self, engine: Engine) -> None:
        if self.epoch is not None:
            # Attach after validation and the last checkpoint: they run first on EPOCH_COMPLETED.
            engine.add_event_handler(Events.EPOCH_COMPLETED(once=self.epoch), self._stop)
        if self.iteration is not None:
            engine.add_event_handler(Events.ITERATION_COMPLETED(once=self.iteration), self)

    def __call__(self, engine: Engine) -> None:
        """Mid-epoch stop: unless this is also the epoch's last iteration, save first."""
        epoch_length = engine.state.epoch_length
        if epoch_length is None or engine.state.iteration % epoch_length != 0:
            if self.on_stop is not None:
                self.on_stop(engine)
            self._stop(engine)
        else:
            # The epoch's end handlers (validation, last checkpoint) must still run: stop after them.
            engine.add_event_handler(Events.EPOCH_COMPLETED(once=engine.state.epoch), self._stop)

    def _stop(self, engine: Engine) -> None:
        if self.stopped:
            return
        self.stopped = True
        self.logger.info(f"stopping after epoch {engine.state.epoch}, iteration {engine.state.iteration}, as asked")
        engine.terminate(skip_completed=True)
