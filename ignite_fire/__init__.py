"""ignite_fire: image-classification experiments on PyTorch-Ignite.

Use the engines in your own scripts::

    from ignite_fire import create_trainer, create_evaluator, attach_validation_metrics

or run a whole experiment module::

    from ignite_fire import load_experiment, train
    results = train(load_experiment("experiments/quickstart.py", {"epochs": 2}))
"""

from ignite_fire.engines import create_evaluator, create_train_step, create_trainer
from ignite_fire.errors import UserError
from ignite_fire.experiment import Experiment, experiment_from_config, load_experiment
from ignite_fire.losses import FocalLoss
from ignite_fire.metrics import attach_validation_metrics
from ignite_fire.training import build_run, train

__all__ = [
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
