"""The ``train`` command (also what ``python -m ignite_fire EXPERIMENT.py`` runs)."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger("ignite_fire")


def train(experiment: str, print_config: bool = False, **overrides: Any) -> None:
    """Train EXPERIMENT (a .py file, or a run's config.json to re-run it); override any key as --key=value.

    --print_config prints the resolved config as JSON and exits, creating nothing.

    ``python -m ignite_fire EXPERIMENT.py --help`` lists the keys with their defaults.
    """
    from ignite_fire.experiment import load_experiment, resolved_json

    loaded = load_experiment(experiment, overrides)  # a config error stops here, before torch is imported
    if print_config:
        print(resolved_json(loaded))
        return
    from ignite_fire import distributed
    from ignite_fire.training import closing_text
    from ignite_fire.training import train as run_training

    if distributed.wants_processes(loaded.settings.speed.nproc_per_node):  # --nproc_per_node=N, or torchrun
        from ignite_fire.launch import launch

        results = launch(experiment, overrides, loaded.settings)
    else:
        results = run_training(loaded)
    if not distributed.is_main_process():
        return
    logger.info(closing_text(results))
    if results.get("best_checkpoint"):
        logger.info(f"best checkpoint: {results['best_checkpoint']}")
    if results.get("wandb_dir"):
        upload = f"python -m ignite_fire sync {results['run_dir']}"
        logger.info(f"W&B run: {results['wandb_dir']} (upload later with: {upload})")
