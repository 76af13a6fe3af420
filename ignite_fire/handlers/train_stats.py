from __future__ import annotations

import math
from typing import Any

import torch
from ignite.engine import Engine, Events

from ignite_fire.errors import UserError


class NonFiniteLossError(UserError):
    """The training loss became NaN or Inf."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=3)


class TrainStats:
    """Running training loss and accuracy, accumulated on the device and read every ``log_every`` iterations.

    The update step returns ``{"loss", "correct", "count", "nonfinite"}`` (see
    :func:`ignite_fire.engines.create_train_step`). This handler adds them to device tensors at
    every iteration (no host synchronisation) and, every ``log_every`` iterations and at the end
    of each epoch, reads them once and sets ``engine.state.metrics["train_loss"]`` and
    ``["train_acc"]`` (fraction 0..1, averages since the epoch started). If any loss since the
    last read was NaN or Inf, it raises :class:`NonFiniteLossError` naming the epoch, the
    iteration window and the learning rate, so training stops before a bad checkpoint is written.

    ``state_dict`` holds the sums of the epoch so far: a run resumed in the middle of an epoch (from
    a ``last`` checkpoint) reports that epoch's train_loss over all of its iterations, not only over
    those after the resume.

    Args:
        log_every: iterations between host reads; must be >= 1.
        optimizer: when given, its first group's learning rate is named in the NaN message.

    Example::

        stats = TrainStats(log_every=10, optimizer=optimizer)
        stats.attach(trainer)
        # trainer.state.metrics["train_loss"] is updated every 10 iterations
    """

    def __init__(self, log_every: int, optimizer: torch.optim.Optimizer | None = None) -> None:
        if not isinstance(log_every, int) or isinstance(log_every, bool) or log_every < 1:
            raise ValueError(f"Argument log_every should be a positive integer, got {log_every!r}")
        self.log_every = log_every
        self.optimizer = optimizer
        self._sums: dict[str, torch.Tensor] = {}
        self._count = 0
        self._last_checked_iteration = 0
        self._carried: dict[str, float] = {}  # sums loaded from a checkpoint, added to the first iteration's
        self._resumed_at: int | None = None  # the iteration they were saved at
        self._iteration = 0  # the engine's iteration at the last update

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.EPOCH_STARTED, self.reset)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self)
        engine.add_event_handler(Events.ITERATION_COMPLETED(every=self.log_every), self.read)
        engine.add_event_handler(Events.EPOCH_COMPLETED, self.read)

    def reset(self, engine: Engine) -> None:
        iteration, length = engine.state.iteration, engine.state.epoch_length
        if self._resumed_at == iteration and length and iteration % length:  # resumed mid-epoch: keep its sums
            self._resumed_at = None
            return
        self._resumed_at = None
        self._carried = {}
        self._sums = {}
        self._count = 0
        self._last_checked_iteration = engine.state.iteration

    def __call__(self, engine: Engine) -> None:
        output = engine.state.output
        count = int(output["count"])
        values = {
            "loss": output["loss"].detach() * count,
            "correct": output["correct"].detach(),
            "nonfinite": output["nonfinite"].detach(),
        }
        if not self._sums:
            self._sums = {key: value.clone().double() + self._carried.get(key, 0.0) for key, value in values.items()}
            self._carried = {}
        else:
            for key, value in values.items():
                self._sums[key] += value
        self._count += count
        self._iteration = engine.state.iteration

    def read(self, engine: Engine) -> None:
        if not self._sums or self._count == 0:
            return
        loss_sum, correct, nonfinite = (self._sums[k].item() for k in ("loss", "correct", "nonfinite"))
        first = self._last_checked_iteration + 1
        self._last_checked_iteration = engine.state.iteration
        if nonfinite or not math.isfinite(loss_sum):
            lr = f", lr {self.optimizer.param_groups[0]['lr']:.3g}" if self.optimizer is not None else ""
            raise NonFiniteLossError(
                f"training loss became NaN/Inf in epoch {engine.state.epoch}, iterations {first}-"
                f"{engine.state.iteration}{lr}: lower --learning_rate, set --grad_clip, or try --amp=False"
            )
        engine.state.metrics["train_loss"] = loss_sum / self._count
        engine.state.metrics["train_acc"] = correct / self._count

    def state_dict(self) -> dict[str, Any]:
        sums = {key: float(value.item()) for key, value in self._sums.items()} if self._sums else self._carried
        return {
            "sums": dict(sums),
            "count": self._count,
            "iteration": self._iteration,
            "last_checked_iteration": self._last_checked_iteration,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._carried = {key: float(value) for key, value in state["sums"].items()}
        self._sums = {}
        self._count = int(state["count"])
        self._last_checked_iteration = int(state["last_checked_iteration"])
        self._iteration = int(state["iteration"])
        self._resumed_at = self._iteration if self._carried else None
