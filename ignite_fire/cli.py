"""The command line, through python-fire.

    python -m ignite_fire EXPERIMENT.py [--key=value ...]          train (same as `train EXPERIMENT.py`)
    python -m ignite_fire train EXPERIMENT.py [--key=value ...]
    python -m ignite_fire sweep EXPERIMENT.py --count=10 [--key=value ...]     hyperparameter sweep (Optuna)
    python -m ignite_fire sweep-status runs/SWEEP_NAME                        table of a sweep's trials
    python -m ignite_fire predict CHECKPOINT [CHECKPOINT ...] --input=DIR [--list=A.txt] [--output=submission.txt]
    python -m ignite_fire graph EXPERIMENT.py [--output=STEM] [--key=value ...]   model graph (.dot/.png/.svg)
    python -m ignite_fire lr-find EXPERIMENT.py [--num_iter=100] [--key=value ...]   LR finder (lr_find.png)

Errors a user can fix are one line on stderr and a non-zero exit; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Callable
from typing import Any

import fire

from ignite_fire.errors import UserError
from ignite_fire.predict import predict_command
from ignite_fire.sweeps.commands import sweep, sweep_status

logger = logging.getLogger("ignite_fire")


def train(experiment: str, **overrides: Any) -> None:
    """Train EXPERIMENT (a .py file); any config key can be overridden as --key=value."""
    from ignite_fire import distributed
    from ignite_fire.experiment import load_experiment
    from ignite_fire.training import train as run_training

    loaded = load_experiment(experiment, overrides)
    if distributed.wants_processes(loaded.config):  # --nproc_per_node=N, or started by torchrun
        results = distributed.launch(experiment, overrides, loaded.config)
    else:
        results = run_training(loaded)
    if not distributed.is_main_process():
        return
    best = results.get("best_val_acc")
    best_text = f"best val_acc {best:.4f} at epoch {results['best_epoch']}" if best is not None else "no validation"
    logger.info(f"done: {best_text}; run directory {results['run_dir']}")
    if results.get("best_checkpoint"):
        logger.info(f"best checkpoint: {results['best_checkpoint']}")
    if results.get("wandb_dir"):
        logger.info(f"W&B run: {results['wandb_dir']} (upload later with: wandb sync {results['wandb_dir']})")


def graph(experiment: str, output: str | None = None, num_classes: int | None = None, **overrides: Any) -> None:
    """Draw EXPERIMENT's model graph (torchviz): OUTPUT.dot, plus OUTPUT.png/.svg when Graphviz is installed."""
    from ignite_fire.graph import graph_command

    graph_command(experiment, output, num_classes, **overrides)


def lr_find(experiment: str, **options: Any) -> None:
    """LR range test on EXPERIMENT: lr_find.png and --learning_rate=... to paste (--num_iter, --start_lr, --end_lr)."""
    from ignite_fire.lr_find import lr_find_command

    lr_find_command(experiment, **options)


COMMANDS: dict[str, Callable[..., Any]] = {
    "train": train,
    "sweep": sweep,
    "sweep-status": sweep_status,
    "predict": predict_command,
    "graph": graph,
    "lr-find": lr_find,
}


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout, force=True)
    # Ignite's engines log every epoch and every exception themselves; ours says it once.
    logging.getLogger("ignite").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", message=".*pin_memory.*")


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    if args and args[0] not in COMMANDS and not args[0].startswith("-"):
        args.insert(0, "train")
    _configure_logging()
    try:
        fire.Fire(COMMANDS, command=args, name="ignite_fire")
    except UserError as error:
        if debug:
            raise
        print(f"ignite_fire: error: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        if debug:
            raise
        print("ignite_fire: interrupted", file=sys.stderr)
        sys.exit(130)
