from __future__ import annotations

from ignite.engine import Engine, Events
from torch.optim.lr_scheduler import LRScheduler


class SchedulerStep:
    """Steps a torch LR scheduler every iteration or every epoch of the trainer.

    The scheduler itself is checkpointed (it has ``state_dict``); this handler holds no state.

    Args:
        scheduler: any ``torch.optim.lr_scheduler`` object.
        interval: ``"iteration"`` or ``"epoch"``.

    Example::

        SchedulerStep(CosineAnnealingLR(optimizer, T_max=len(loader) * epochs), "iteration").attach(trainer)
    """

    def __init__(self, scheduler: LRScheduler, interval: str = "iteration") -> None:
        if interval not in ("iteration", "epoch"):
            raise ValueError(f"Argument interval should be 'iteration' or 'epoch', got {interval!r}")
        self.scheduler = scheduler
        self.interval = interval

    def attach(self, engine: Engine) -> None:
        event = Events.ITERATION_COMPLETED if self.interval == "iteration" else Events.EPOCH_COMPLETED
        engine.add_event_handler(event, self)

    def __call__(self, engine: Engine) -> None:
        self.scheduler.step()
