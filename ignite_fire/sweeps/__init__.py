"""Hyperparameter sweeps: an experiment's ``sweep`` dict (W&B sweep-config format), run with Optuna.

    python -m ignite_fire sweep EXPERIMENT.py --count=10 [--key=value ...]
    python -m ignite_fire sweep-status runs/SWEEP_NAME

* :mod:`ignite_fire.sweeps.config`: checks the W&B sweep config and turns it into an Optuna
  search space, sampler and pruner;
* :mod:`ignite_fire.sweeps.storage`: where the study lives (SQLite in the sweep directory by
  default; any Optuna storage URL or a journal file for several workers);
* :mod:`ignite_fire.sweeps.pruning`: the handler that reports each epoch's metric to the trial;
* :mod:`ignite_fire.sweeps.runner`: the sweep loop: one normal training run per trial;
* :mod:`ignite_fire.sweeps.results`: the table, ``trials.csv`` and ``trials.png``;
* :mod:`ignite_fire.sweeps.wandb_backend`: the same sweep through ``wandb.sweep`` + ``wandb.agent``.
"""
