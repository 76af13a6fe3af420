"""An exponential moving average (EMA) of the model's weights: Ignite's EMAHandler with TensorFlow's warm-up.

With ``ema_decay`` set, a run validates the EMA model and saves it as the best checkpoint's
``model`` (``last.pt`` keeps both, so a resumed run continues the average).
"""

from __future__ import annotations

from typing import Any

from ignite.engine import Engine, Events
from ignite.handlers import EMAHandler
from torch import nn


class ModelEMA:
    """Keeps ``ema_model``, an EMA of ``model``'s weights, updated after every iteration.

    ``ema = decay * ema + (1 - decay) * weights``; with ``warmup`` the decay used at iteration ``t``
    is ``min(decay, (1 + t) / (10 + t))``, the ``num_updates`` rule of TensorFlow's
    ``tf.train.ExponentialMovingAverage`` (timm's ModelEmaV3 warms up differently, with
    ``1 - (1 + t / gamma) ** -power``), so the average does not hang on to the random initial
    weights in short runs. Batch-norm statistics are copied from ``model``.

    Args:
        model: the model being trained.
        decay: in (0, 1), e.g. 0.999 (about the last 1,000 iterations).
        warmup: use the warm-up above.

    Example::

        ema = ModelEMA(model, decay=0.999)
        ema.attach(trainer)
        evaluator = create_evaluator(ema.ema_model, device)
    """

    def __init__(self, model: nn.Module, decay: float, warmup: bool = True) -> None:
        if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 < decay < 1:
            raise ValueError(f"Argument decay should be a number between 0 and 1 (e.g. 0.999), got {decay!r}")
        self.decay = float(decay)
        self.warmup = warmup
        self.handler = EMAHandler(model, momentum=1.0 - self.decay, handle_buffers="copy")

    @property
    def ema_model(self) -> nn.Module:
        return self.handler.ema_model

    def momentum(self, iteration: int) -> float:
        """The weight of the current weights at ``iteration`` (1-based): ``1 - decay_t``."""
        decay = min(self.decay, (1 + iteration) / (10 + iteration)) if self.warmup else self.decay
        return 1.0 - decay

    def __call__(self, engine: Engine) -> None:
        engine.state.ema_momentum = self.momentum(engine.state.iteration)

    def attach(self, engine: Engine) -> None:
        """Set the momentum, then update the EMA model, after every iteration of ``engine``."""
        engine.add_event_handler(Events.ITERATION_COMPLETED, self)
        self.handler.attach(engine, name="ema_momentum", warn_if_exists=False, event=Events.ITERATION_COMPLETED)

    def state_dict(self) -> dict[str, Any]:
        return self.ema_model.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.ema_model.load_state_dict(state)


def attach_ema(trainer: Engine, model: nn.Module, decay: float | None) -> ModelEMA | None:
    """A :class:`ModelEMA` of ``model`` attached to ``trainer`` when ``decay`` is set, else None."""
    if decay is None:
        return None
    ema = ModelEMA(model, decay)
    ema.attach(trainer)
    return ema
