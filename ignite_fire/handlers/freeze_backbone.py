"""Train only the classifier head for the first epochs, then the whole model (fastai's ``fine_tune``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from ignite.engine import Engine, Events
from torch import nn

from ignite_fire.finetune import head_prefixes, is_head

logger = logging.getLogger("ignite_fire")


class FreezeBackbone:
    """Freeze every parameter outside the head (``requires_grad=False``) during epochs ``1 .. epochs``.

    The optimizer holds all parameters from the start; frozen ones get no gradient, so no update
    (nor weight decay). The state is set at the start of every epoch from the epoch number, and
    ``state_dict``/``load_state_dict`` carry it, so a run resumed in the middle of the frozen stage
    stays frozen. Norm layers of the backbone keep updating their running statistics.

    Args:
        model: the model being trained.
        epochs: epochs with the backbone frozen (>= 1).
        head: module names of the head (default: :func:`~ignite_fire.finetune.head_prefixes`).

    Example::

        freeze = FreezeBackbone(model, epochs=2)
        freeze.attach(trainer)
        to_save["freeze_backbone"] = freeze
    """

    def __init__(self, model: nn.Module, epochs: int, head: Sequence[str] | None = None) -> None:
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}")
        self.model = model
        self.epochs = epochs
        self.head = tuple(head) if head is not None else head_prefixes(model)
        self.frozen = False

    def set_frozen(self, frozen: bool) -> None:
        for name, parameter in self.model.named_parameters():
            if not is_head(name, self.head):
                parameter.requires_grad_(not frozen)
        if frozen != self.frozen:
            logger.info("backbone frozen: training the head only" if frozen else "backbone unfrozen: training all")
        self.frozen = frozen

    def __call__(self, engine: Engine) -> None:
        self.set_frozen(engine.state.epoch <= self.epochs)

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.EPOCH_STARTED, self)

    def state_dict(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "frozen": self.frozen}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.set_frozen(bool(state["frozen"]))


def attach_freeze(trainer: Engine, model: nn.Module, epochs: int) -> FreezeBackbone | None:
    """A :class:`FreezeBackbone` attached to ``trainer`` when ``epochs`` > 0 (``freeze_epochs``), else None."""
    if epochs == 0:
        return None
    freeze = FreezeBackbone(model, epochs)
    freeze.attach(trainer)
    return freeze
