"""ignite_fire: image-classification experiments on PyTorch-Ignite.

Use the engines in your own scripts::

    from ignite_fire import create_trainer, create_evaluator, attach_validation_metrics

or run a whole experiment module::

    from ignite_fire import load_experiment, train
    results = train(load_experiment("experiments/quickstart.py", {"epochs": 2}))

The names below are imported when first used (PEP 562), so ``import ignite_fire`` and the command
line's help do not load torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the type checker and the reader see; at run time __getattr__ imports them
    from ignite_fire.engines import create_evaluator, create_train_step, create_trainer
    from ignite_fire.errors import UserError
    from ignite_fire.experiment import Experiment, experiment_from_config, load_experiment
    from ignite_fire.losses import FocalLoss
    from ignite_fire.metrics import attach_validation_metrics
    from ignite_fire.training import build_run, train

# Each public name -> the module it lives in.
EXPORTS = {
    "Experiment": "ignite_fire.experiment",
    "FocalLoss": "ignite_fire.losses",
    "UserError": "ignite_fire.errors",
    "attach_validation_metrics": "ignite_fire.metrics",
    "build_run": "ignite_fire.training",
    "create_evaluator": "ignite_fire.engines",
    "create_train_step": "ignite_fire.engines",
    "create_trainer": "ignite_fire.engines",
    "experiment_from_config": "ignite_fire.experiment",
    "load_experiment": "ignite_fire.experiment",
    "train": "ignite_fire.training",
}
__all__ = [  # the names of EXPORTS (ruff and type checkers read a literal list)
    "Experiment",
    "FocalLoss",
    "UserError",
    "attach_validation_metrics",
    "build_run",
    "create_evaluator",
    "create_train_step",
    "create_trainer",
    "experiment_from_config",
    "load_experiment",
    "train",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name not in EXPORTS:
        raise AttributeError(f"module 'ignite_fire' has no attribute {name!r}")
    value = getattr(importlib.import_module(EXPORTS[name]), name)
    globals()[name] = value  # imported once
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *EXPORTS])
