"""Settings that make a step fast: CPU threads, cuDNN autotuning, TF32, ``torch.compile``.

Example::

    configure_threads(settings.speed.threads, num_workers)
    configure_cuda(device)
    forward_model = compile_model(model, enabled=True)
"""

from __future__ import annotations

import logging
import os
import statistics
import time

import torch
from torch import nn

logger = logging.getLogger("ignite_fire")


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity: a container's or ``taskset``'s share, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


def busy_cores(samples: int = 5, interval: float = 0.01) -> float:
    """The cores other processes keep busy now, in this process's share of the machine.

    The tasks runnable right now (``/proc/loadavg``'s fourth field, less this process), the median of a
    few samples ``interval`` seconds apart, scaled to the cores this process may use. Not the 1-minute
    load average: it lags by a minute, so a run started right after another (or after this process's
    own data loading) would see its own past work as someone else's and take fewer threads.
    """
    counts = []
    for i in range(samples):
        try:
            with open("/proc/loadavg", encoding="ascii") as handle:
                counts.append(int(handle.read().split()[3].split("/")[0]) - 1)
        except (OSError, ValueError, IndexError):
            return 0.0  # not Linux: no cheap count of what runs now; torch's threads minus the workers
        if i + 1 < samples:
            time.sleep(interval)
    share = usable_cores() / max(os.cpu_count() or 1, usable_cores())
    return max(0.0, statistics.median(counts) * share)


def default_threads(num_workers: int, processes: int = 1, busy: float | None = None) -> int:
    """Intra-op threads that leave a core to each DataLoader worker and to every other busy process.

    The usable cores shared out between the ``processes`` of this machine, minus ``num_workers``, and
    no more than the cores that are not ``busy`` (:func:`busy_cores`); at least 1.
    """
    cores = usable_cores()
    busy = busy_cores() if busy is None else busy
    free = round(cores - busy) // max(1, processes)
    return max(1, min(cores // max(1, processes) - num_workers, free))


def configure_threads(threads: int | None, num_workers: int, processes: int = 1) -> int:
    """Set torch's intra-op threads and return them: ``threads``, or :func:`default_threads` unless the user set
    ``OMP_NUM_THREADS`` (torch follows it already).

    torch's own default is one thread per core of the machine. Those threads busy-wait between operations,
    so beside DataLoader workers or any other busy process they take turns on the same cores and an epoch
    runs several times slower: 10x for the quickstart on 2 cores beside one busy process
    (docs/performance-threads.md has the measurements).
    """
    if threads is None:
        if os.environ.get("OMP_NUM_THREADS"):
            return torch.get_num_threads()
        threads = default_threads(num_workers, processes)
    if threads != torch.get_num_threads():
        torch.set_num_threads(threads)
    logger.debug(f"torch intra-op threads: {threads}")
    return threads


def thread_candidates(threads: int | None, default: int, processes: int = 1) -> list[int]:
    """The counts a run tries (:class:`~ignite_fire.handlers.thread_tuner.ThreadTuner`): ``default``, then
    all of this process's share of the cores; none when the user chose (``threads``, ``OMP_NUM_THREADS``).

    The default leaves a core to each DataLoader worker, but workers that mostly wait for the model
    leave their cores idle: on a quiet 2-core machine with 2 workers, 2 threads beat 1 by a third.
    """
    if threads is not None or os.environ.get("OMP_NUM_THREADS"):
        return []
    return list(dict.fromkeys([default, max(1, usable_cores() // max(1, processes))]))


def configure_cuda(device: torch.device) -> None:
    """On CUDA: let cuDNN pick the fastest convolution algorithms (fixed image sizes) and allow TF32 in fp32 math."""
    if device.type != "cuda":
        return
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True


def compile_model(model: nn.Module, enabled: bool) -> nn.Module:
    """``torch.compile(model)`` when ``enabled`` (compilation happens on the first call), else ``model``.

    Keep the original module for checkpoints: the compiled wrapper's ``state_dict`` keys carry an
    ``_orig_mod.`` prefix. Both share the same parameters.
    """
    if not enabled:
        return model
    return torch.compile(model)  # type: ignore[return-value]  # torch.compile of a Module returns a Module (OptimizedModule)
