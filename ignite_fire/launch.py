"""Start a run in several processes: ``--nproc_per_node=N`` spawns them, ``torchrun`` starts them itself.

Above :mod:`ignite_fire.training` (each process calls :func:`~ignite_fire.training.train`); the
per-process helpers it uses are in :mod:`ignite_fire.distributed`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import ignite.distributed as idist
import torch

from ignite_fire.config import RunConfig
from ignite_fire.devices import resolve_device
from ignite_fire.distributed import backend_for, free_port, under_torchrun
from ignite_fire.errors import UserError, show_warning
from ignite_fire.experiment import load_experiment
from ignite_fire.run_dir import run_name
from ignite_fire.training import train

logger = logging.getLogger("ignite_fire")


def _configure_child_logging(rank: int) -> None:
    warnings.showwarning = show_warning  # one line each, as in the CLI's process
    if not logging.getLogger().handlers:  # a spawned process starts without the CLI's logging set-up
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout, force=True)
        logging.getLogger("ignite").setLevel(logging.CRITICAL)
    if rank > 0:
        logging.getLogger("ignite_fire").setLevel(logging.WARNING)


def _worker(local_rank: int, experiment_path: str, overrides: dict[str, Any], spawned: bool, box: list) -> None:
    """One process of a distributed run (``idist.Parallel`` calls it with the local rank first)."""
    rank = idist.get_rank()
    _configure_child_logging(rank)
    try:
        box.append(train(load_experiment(experiment_path, overrides)))
    except UserError as error:
        if not spawned:
            raise  # the CLI prints it
        where = "" if rank == 0 else f" (rank {rank})"
        print(f"ignite_fire: error{where}: {error}", file=sys.stderr, flush=True)
        raise SystemExit(error.exit_code) from None


def launch(experiment_path: str | Path, overrides: dict[str, Any], settings: RunConfig) -> dict[str, Any]:
    """Train in ``nproc_per_node`` spawned processes, or in the process group of ``torchrun``.

    Returns rank 0's results (the run's ``results.json``).
    """
    device = resolve_device(settings.update.device)
    backend = backend_for(device)
    box: list[dict[str, Any]] = []
    if under_torchrun():
        with idist.Parallel(backend=backend) as parallel:
            parallel.run(_worker, str(experiment_path), overrides, False, box)
        return box[0]

    nproc = settings.speed.nproc_per_node
    if device.type == "cuda" and nproc > torch.cuda.device_count():
        raise UserError(f"--nproc_per_node={nproc} but this machine has {torch.cuda.device_count()} GPUs")
    overrides = dict(overrides)
    name = run_name(settings.bookkeeping.name, Path(experiment_path).stem, settings.bookkeeping.output_dir)
    overrides["name"] = name  # every process writes (rank 0) or reads the same run directory
    hidden = device.type == "cpu" and torch.cuda.is_available()
    previous = os.environ.get("CUDA_VISIBLE_DEVICES")
    if hidden:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # gloo on the CPU: the processes must not see the GPUs
    batch = settings.training.batch_size
    logger.info(f"starting {nproc} processes ({backend}); batch_size {batch} is the global batch")
    try:
        with idist.Parallel(backend=backend, nproc_per_node=nproc, master_port=free_port()) as parallel:
            parallel.run(_worker, str(experiment_path), overrides, True, box)
    except torch.multiprocessing.ProcessExitedException as error:
        code = error.exit_code if error.exit_code > 0 else 128 - error.exit_code  # killed by a signal
        raise SystemExit(code) from None
    except torch.multiprocessing.ProcessRaisedException as error:
        print(f"ignite_fire: error: a training process failed:\n{error}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        if hidden:
            if previous is None:
                os.environ.pop("CUDA_VISIBLE_DEVICES", None)
            else:
                os.environ["CUDA_VISIBLE_DEVICES"] = previous
    results_path = Path(settings.bookkeeping.output_dir).expanduser() / name / "results.json"
    return json.loads(results_path.read_text(encoding="utf-8"))
