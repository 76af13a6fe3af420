from __future__ import annotations

from collections.abc import Callable
from types import FrameType

from ignite.engine import Engine, Events

from ignite_fire import signals


class Interrupt:
    """Turns SIGINT/SIGTERM/SIGHUP (:data:`ignite_fire.signals.STOP_SIGNALS`) into a clean stop at the end
    of the current iteration.

    On the first signal the trainer finishes its iteration, ``on_interrupt(engine)`` runs (it
    saves the ``last`` checkpoint) and the engine terminates without firing COMPLETED. The
    caller then exits with :attr:`exit_code` (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP). A second
    signal while stopping restores the default handler, so a third one kills at once.

    Args:
        on_interrupt: called with the trainer once, before it stops.

    Example::

        interrupt = Interrupt(lambda engine: last_checkpointer(engine))
        interrupt.attach(trainer)
        try:
            trainer.run(loader, max_epochs=10)
        finally:
            interrupt.restore()
        if interrupt.signal is not None:
            sys.exit(interrupt.exit_code)
    """

    def __init__(self, on_interrupt: Callable[[Engine], None]) -> None:
        self.on_interrupt = on_interrupt
        self.signal: int | None = None
        self._previous: dict[int, object] = {}

    @property
    def exit_code(self) -> int:
        return signals.exit_code(self.signal) if self.signal is not None else 0

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signal is not None:
            signals.default(signum)
            return
        self.signal = signum

    def attach(self, engine: Engine) -> None:
        self._previous = signals.catch(self._handle)
        if not self._previous:  # not the main thread: signals cannot be caught here
            return
        engine.add_event_handler(Events.ITERATION_COMPLETED, self)

    def __call__(self, engine: Engine) -> None:
        if self.signal is None or engine.should_terminate:
            return
        self.on_interrupt(engine)
        engine.terminate(skip_completed=True)

    def restore(self) -> None:
        signals.restore(self._previous)
        self._previous = {}
