"""guarded: a picture callback that raises becomes one warning, and the engine goes on."""

from __future__ import annotations

import warnings

import pytest
from ignite.engine import Engine, Events

from ignite_fire.pictures.guard import guarded


def test_an_exception_is_one_warning_and_the_engine_goes_on(fresh_warnings: None) -> None:
    calls = []

    def broken(engine: Engine) -> None:
        calls.append(engine.state.epoch)
        raise OSError("No space left on device")

    trainer = Engine(lambda e, b: None)
    trainer.add_event_handler(Events.EPOCH_COMPLETED, guarded("the curves", broken))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        state = trainer.run([0], max_epochs=3)
    assert state.epoch == 3 and calls == [1, 2, 3]
    messages = [str(w.message) for w in caught if w.category is RuntimeWarning]
    assert messages == ["the curves failed, training goes on: OSError: No space left on device"]  # once


def test_the_result_and_the_arguments_pass_through() -> None:
    assert guarded("sum", lambda a, b: a + b)(2, 3) == 5
    with pytest.raises(KeyboardInterrupt):  # only Exception is a warning: Ctrl+C still stops
        guarded("stop", lambda: (_ for _ in ()).throw(KeyboardInterrupt()))()
