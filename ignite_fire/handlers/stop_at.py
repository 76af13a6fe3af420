from __future__ import annotations

import logging

from ignite.engine import Engine, Events


class StopAt:
    """Stops the trainer cleanly after a given epoch or iteration, as a pre-emption would.

    Everything that runs at the end of an epoch (validation, the ``last`` checkpoint) has run
    for completed epochs; a stop in the middle of an epoch is followed by the caller's
    interruption checkpoint. Resuming continues from there.

    Args:
        epoch: stop after this epoch completes (>= 1), or None.
        iteration: stop after this iteration completes (>= 1), or None.

    Example::

        StopAt(epoch=2).attach(trainer)   # python -m ignite_fire exp.py --stop_after_epoch=2
    """

    def __init__(self, epoch: int | None = None, iteration: int | None = None) -> None:
        for name, value in (("epoch", epoch), ("iteration", iteration)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"Argument {name} should be a positive integer or None, got {value!r}")
        self.epoch = epoch
        self.iteration = iteration
        self.stopped = False
        self.logger = logging.getLogger(__name__)

    def attach(self, engine: Engine) -> None:
        if self.epoch is not None:
            # Registered late on EPOCH_COMPLETED, so validation and checkpoints of that epoch run first.
            engine.add_event_handler(Events.EPOCH_COMPLETED(once=self.epoch), self)
        if self.iteration is not None:
            engine.add_event_handler(Events.ITERATION_COMPLETED(once=self.iteration), self)

    def __call__(self, engine: Engine) -> None:
        self.stopped = True
        self.logger.info(f"stopping at epoch {engine.state.epoch}, iteration {engine.state.iteration} as asked")
        engine.terminate()
