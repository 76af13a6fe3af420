"""Training in several processes (GPUs, machines) through :mod:`ignite.distributed`.

Two ways to start the same experiment, unchanged::

    python -m ignite_fire train EXP.py --nproc_per_node=4            # 4 processes on this machine
    torchrun --nnodes=2 --nproc_per_node=8 --rdzv_backend=c10d --rdzv_endpoint=HOST:29400 \\
        -m ignite_fire train EXP.py                                  # any torchrun setup

``--nproc_per_node=N`` spawns N processes with ``idist.Parallel``; under ``torchrun`` (its
``WORLD_SIZE`` environment) each process joins the process group torchrun set up and
``nproc_per_node`` is ignored. The backend is NCCL on GPUs (one GPU per process, ``cuda:LOCAL_RANK``)
and gloo on CPUs.

What changes with several processes:

* ``batch_size`` is the **global** batch: each process takes ``batch_size / world_size`` samples
  per step (it must divide evenly), so the number of steps per epoch, the learning rate and the
  schedule are those of one process with the same ``batch_size``. ``num_workers`` is per process
  (its default, ``min(8, CPU count)``, is shared out between the processes of a machine).
* Each process trains on its own share of every epoch's shuffle (the shares are padded to the same
  length); gradients are averaged by ``DistributedDataParallel`` (``idist.auto_model``).
* Validation: each process evaluates its own share of the validation set, after the BatchNorm
  statistics of rank 0 are copied to all processes; Ignite's metrics sum over processes, so every
  metric equals that of one process over the whole validation set with rank 0's model.
  ``train_loss``/``train_acc`` are rank 0's running averages.
* Only rank 0 writes: checkpoints (the unwrapped model), ``history.json``, ``results.json``,
  ``config.json``, pictures, and the W&B run.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable

import ignite.distributed as idist
import torch
from ignite.engine import Engine, Events
from torch import nn

from ignite_fire.errors import UserError

logger = logging.getLogger("ignite_fire")

# ignite's launcher and auto_model log with their own handlers; registering the loggers first keeps them quiet.
for _name in ("ignite.distributed.launcher.Parallel", "ignite.distributed.auto.auto_model"):
    logging.getLogger(_name).setLevel(logging.WARNING)


def under_torchrun() -> bool:
    """True in a process started by ``torchrun`` (or another launcher that sets ``WORLD_SIZE`` > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and not idist.get_world_size() > 1


def wants_processes(nproc_per_node: int) -> bool:
    """Whether the run needs :func:`launch` (several processes) rather than a plain ``train``."""
    return under_torchrun() or nproc_per_node > 1


def is_main_process() -> bool:
    return idist.get_rank() == 0


def backend_for(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def same_on_all_ranks(value: str) -> str:
    """Rank 0's ``value`` in every process (run names hold a timestamp that differs between machines)."""
    if idist.get_world_size() == 1:
        return value
    return str(idist.broadcast(value, src=0))


def process_device(device: torch.device) -> torch.device:
    """This process's device: ``cuda:LOCAL_RANK`` on GPUs in distributed runs, else ``device``."""
    if idist.get_world_size() > 1 and device.type == "cuda":
        return torch.device("cuda", idist.get_local_rank())
    return device


def process_batch_size(batch_size: int) -> int:
    """This process's share of the global ``batch_size``."""
    world_size = idist.get_world_size()
    if batch_size % world_size:
        raise UserError(
            f"--batch_size={batch_size} is the global batch over {world_size} processes: "
            f"make it a multiple of {world_size}"
        )
    return batch_size // world_size


def distributed_model(model: nn.Module, device: torch.device, find_unused_parameters: bool = False) -> nn.Module:
    """``model`` wrapped in DistributedDataParallel (``idist.auto_model``) when there are several processes.

    ``find_unused_parameters``: parameters may get no gradient in some iterations (a frozen backbone).
    """
    if idist.get_world_size() == 1:
        return model
    if device.type == idist.device().type:
        return idist.auto_model(model, find_unused_parameters=find_unused_parameters)
    return torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=find_unused_parameters)


def sync_buffers(models: Iterable[nn.Module]) -> None:
    """Copy rank 0's buffers (BatchNorm statistics) to every process."""
    for model in models:
        for buffer in model.buffers():
            torch.distributed.broadcast(buffer, src=0)


def attach_buffer_sync(trainer: Engine, models: Iterable[nn.Module]) -> None:
    """Before the end-of-epoch handlers (validation, checkpoints) run, give every process rank 0's buffers.

    Attach before those handlers: Ignite calls handlers in the order they were added.
    """
    if idist.get_world_size() > 1:
        unique = list({id(m): m for m in models}.values())
        trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda _: sync_buffers(unique))
