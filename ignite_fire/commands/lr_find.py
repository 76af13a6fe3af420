"""The ``lr-find`` command: Ignite's FastaiLRFinder on an experiment's assembled run."""

from __future__ import annotations

from typing import Any


def lr_find(
    experiment: str, num_iter: int = 100, start_lr: float = 1e-7, end_lr: float = 10.0, **overrides: Any
) -> None:
    """Find a learning rate for EXPERIMENT: writes lr_find.png and prints --learning_rate=... to paste.

    The LR grows exponentially from --start_lr to --end_lr over --num_iter batches; nothing else in the
    run directory changes. Any config key can be overridden as --key=value.
    """
    from ignite_fire.lr_find import run_lr_find

    run_lr_find(experiment, num_iter, start_lr, end_lr, **overrides)
