"""The ``sweep`` command: a hyperparameter sweep of an experiment (Optuna, or W&B's agent)."""

from __future__ import annotations

from typing import Any

from ignite_fire.errors import UserError

BACKENDS = ("optuna", "wandb")


def sweep(
    experiment: str,
    count: int = 10,
    storage: str | None = None,
    resume: bool = False,
    backend: str = "optuna",
    **overrides: Any,
) -> None:
    """Run COUNT trials of EXPERIMENT's `sweep` (W&B sweep-config format) on this machine with Optuna.

    --key=value fixes a config key for every trial and takes it out of the search space.
    --name=NAME names the sweep; its directory is {output_dir}/{name} (study.db, trials.csv, trials.png, trial-NNN/).
    --storage=URL shares the study between workers: sqlite:///PATH, postgresql+psycopg://..., mysql+pymysql://...
      or a journal file path; start the same command (same --name) on every worker, their counts add up.
    --resume re-runs interrupted trials from their last checkpoints and runs until the sweep holds COUNT
      finished trials.
    --backend=wandb runs the sweep through wandb.sweep + wandb.agent instead (needs W&B online).
    """
    from ignite_fire.sweeps.runner import prepare_sweep, run_sweep

    if backend not in BACKENDS:
        raise UserError(f"--backend={backend!r} is not a backend: use optuna (the default) or wandb")
    if backend == "wandb":
        from ignite_fire.sweeps.wandb_backend import run_wandb_sweep

        if storage or resume:
            raise UserError("--storage and --resume are for the local backend; W&B keeps --backend=wandb sweeps")
        run_wandb_sweep(prepare_sweep(experiment, overrides, None, False), count)
        return
    run_sweep(experiment, overrides, count, storage=storage, resume=resume)
