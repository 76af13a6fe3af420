"""A child process for tests/handlers/test_interruption.py: checkpoint writes that a SIGKILL interrupts."""

from __future__ import annotations

import torch


def write_checkpoints_forever(directory: str) -> None:
    """Write `best` and `last` checkpoints of 2 x 8 MB back to back, printing each iteration, until killed."""
    from ignite.engine import Engine
    from ignite.handlers import Checkpoint

    from ignite_fire.handlers.disk_saver import SafeDiskSaver

    class Big:
        def __init__(self) -> None:
            self.step = 0

        def state_dict(self) -> dict:
            self.step += 1
            return {"step": self.step, "payload": torch.full((2_000_000,), float(self.step))}

        def load_state_dict(self, state: dict) -> None:
            pass

    engine = Engine(lambda e, b: None)
    best = Checkpoint(
        {"big": Big(), "other": Big()},
        SafeDiskSaver(directory),
        n_saved=2,
        score_function=lambda e: float(e.state.iteration % 7),
        score_name="s",
    )
    last = Checkpoint({"big": Big(), "other": Big()}, SafeDiskSaver(directory), filename_pattern="last.pt", n_saved=1)
    while True:
        engine.state.iteration += 1
        best(engine)
        last(engine)
        print(engine.state.iteration, flush=True)
