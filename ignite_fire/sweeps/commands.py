"""The ``sweep`` and ``sweep-status`` commands (registered in :data:`ignite_fire.cli.COMMANDS`).

Optuna and W&B are imported when a command runs, so ``--help`` stays quick.
"""

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
    --storage=URL shares the study between workers: sqlite:///PATH, postgresql://..., mysql+pymysql://...
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


def sweep_status(sweep_dir: str, storage: str | None = None) -> None:
    """Print the table of trials of the sweep in SWEEP_DIR and rewrite its trials.csv and trials.png.

    --storage=URL reads the study from that storage (the sweep's name is SWEEP_DIR's last part).
    """
    from ignite_fire.sweeps.runner import sweep_status as status

    status(sweep_dir, storage=storage)
