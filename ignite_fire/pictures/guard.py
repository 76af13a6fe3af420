"""The one rule every picture handler follows: a picture that cannot be drawn is a warning, never a crash.

Every handler of this package registers its callbacks through :func:`guarded` in its ``attach()``,
so tests and real runs share the same wiring and the same guard.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ignite_fire.warn import warn_once


def guarded(what: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function``, with any exception turned into a warning (once per message): pictures never stop training.

    Example::

        trainer.add_event_handler(Events.EPOCH_COMPLETED, guarded("the curves", curves))
    """

    def call(*args: Any) -> Any:
        try:
            return function(*args)
        except Exception as error:
            warn_once(f"{what} failed, training goes on: {type(error).__name__}: {error}")
            return None

    return call
