"""``sweep --backend=wandb``: the same sweep config through ``wandb.sweep`` and ``wandb.agent``.

For users who are online: the W&B server proposes the values (bayes, random, grid) and stops
runs (``early_terminate``); each agent run is a normal training run in ``{sweep_dir}/trial-{run id}``
with the command line's ``--key=value`` fixed, exactly as in the local sweep. It needs W&B online
(``WANDB_MODE=online`` or ``--wandb_mode=online``) and logged in (``wandb login``); offline, the
default local backend runs the same sweep with nothing but this machine.
"""

from __future__ import annotations

import copy
import logging
import os
from dataclasses import replace
from typing import Any

from ignite_fire.config import apply_overrides
from ignite_fire.errors import UserError
from ignite_fire.loggers.wandb import wandb_mode
from ignite_fire.sweeps.runner import Sweep, make_sweep_dir
from ignite_fire.training import train

logger = logging.getLogger("ignite_fire")


def check_online(given: str | None) -> None:
    mode = wandb_mode(given)
    if mode != "online":
        raise UserError(
            f"--backend=wandb needs W&B online, but W&B is {mode} here (set WANDB_MODE=online or --wandb_mode=online "
            "and run `wandb login`); leave out --backend to run the sweep on this machine with Optuna"
        )


def wandb_sweep_config(sweep: Sweep) -> dict[str, Any]:
    """The experiment's sweep dict for ``wandb.sweep``, without the parameters fixed here."""
    config = copy.deepcopy(sweep.experiment.sweep or {})
    config["parameters"] = {k: v for k, v in config["parameters"].items() if k in sweep.spec.parameters}
    if not config["parameters"]:
        raise UserError("--backend=wandb: every parameter is fixed, there is nothing for W&B to search")
    config["metric"] = {**config.get("metric", {}), "name": sweep.spec.metric, "goal": sweep.spec.goal}
    config["name"] = sweep.name
    return config


def agent_params(names: list[str]) -> dict[str, Any]:
    """The values the W&B agent chose for the current run (it writes them to a YAML file)."""
    from wandb.sdk.lib import config_util

    path = os.environ.get("WANDB_SWEEP_PARAM_PATH")
    if not path:
        raise UserError("not inside a W&B sweep agent run (WANDB_SWEEP_PARAM_PATH is not set)")
    values = config_util.dict_from_config_file(path, must_exist=True) or {}
    return {k: v for k, v in values.items() if k in names}


def run_wandb_sweep(sweep: Sweep, count: int) -> None:
    keys = sweep.experiment.settings.bookkeeping
    check_online(keys.wandb_mode)
    make_sweep_dir(sweep)
    import wandb

    project = keys.wandb_project
    try:
        sweep_id = wandb.sweep(wandb_sweep_config(sweep), project=project)
    except UserError:
        raise
    except Exception as error:
        raise UserError(f"W&B could not create the sweep ({type(error).__name__}: {error})") from error
    logger.info(f"W&B sweep {sweep_id} in project {project}; trials in {sweep.sweep_dir}")

    def run_one() -> None:
        params = agent_params(list(sweep.spec.parameters))
        overrides = {
            **sweep.spec.fixed,
            **params,
            "output_dir": str(sweep.sweep_dir),
            "name": f"trial-{os.environ.get('WANDB_RUN_ID', 'run')}",
            "wandb_group": sweep.spec.fixed.get("wandb_group") or sweep.name,
            "checkpoint_metric": sweep.spec.metric,
            "resume": None,
        }
        try:
            train(replace(sweep.experiment, config=apply_overrides(sweep.experiment.config, overrides)))
        except UserError as error:
            logger.info(f"trial failed: {error}")
            raise

    wandb.agent(sweep_id, function=run_one, project=project, count=count)
