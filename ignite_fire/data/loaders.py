"""DataLoaders whose order is a pure function of (seed, epoch), so a resumed run sees the same data."""

from __future__ import annotations

import atexit
import functools
import multiprocessing.util  # noqa: F401  # registers its exit handler before end_workers
import os
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import ignite.distributed as idist
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ignite_fire import signals


def default_num_workers() -> int:
    """``min(8, CPU count)``, shared out between the processes of this machine in distributed runs."""
    return min(8, (os.cpu_count() or 1) // idist.get_nproc_per_node())


class EpochSampler(Sampler[int]):
    """Shuffled (or class-balanced) indices, reseeded from ``(seed, epoch)`` at every epoch.

    Args:
        targets: class index of every sample (used by ``balanced``).
        seed: base seed.
        balanced: draw with replacement, each class equally likely (for imbalanced data).
        rank, world_size: in distributed runs each process takes every ``world_size``-th index
            (the list is padded so all ranks get the same count).

    Call :meth:`set_epoch` before each epoch; :meth:`skip` drops the first ``n`` indices of the
    next epoch only (mid-epoch resume).
    """

    def __init__(
        self,
        targets: Sequence[int],
        seed: int,
        balanced: bool = False,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, {world_size})")
        self.targets = torch.as_tensor(list(targets), dtype=torch.long)
        self.seed = int(seed)
        self.balanced = balanced
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self._skip = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def skip(self, n: int) -> None:
        self._skip = int(n)

    def _indices(self) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        n = len(self.targets)
        if self.balanced:
            counts = torch.bincount(self.targets).double()
            weights = (1.0 / counts.clamp(min=1))[self.targets]
            indices = torch.multinomial(weights, n, replacement=True, generator=generator)
        else:
            indices = torch.randperm(n, generator=generator)
        per_rank = -(-n // self.world_size)
        if per_rank * self.world_size > n:
            indices = torch.cat([indices, indices[: per_rank * self.world_size - n]])
        return indices[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[int]:
        indices = self._indices().tolist()
        skip, self._skip = self._skip, 0
        return iter(indices[skip:])

    def __len__(self) -> int:
        return -(-len(self.targets) // self.world_size)


def resolve_num_workers(num_workers: int | None) -> int:
    """``num_workers`` if given, else :func:`default_num_workers`."""
    return default_num_workers() if num_workers is None else num_workers


def worker_init(init: Callable[[int], None] | None = None) -> Callable[[int], None]:
    """:func:`ignite_fire.signals.ignore_in_worker`, then ``init(worker_id)`` if given (a picklable
    ``worker_init_fn``)."""
    return signals.ignore_in_worker if init is None else functools.partial(_init_both, init)


_WORKERS: weakref.WeakSet[Any] = weakref.WeakSet()  # worker processes started by a SignalSafeLoader


def end_workers() -> None:
    """At exit, kill the DataLoader workers still running: they ignore the ``terminate()`` (SIGTERM)
    that multiprocessing's exit handler sends before it joins them, which would wait forever."""
    workers = [process for process in _WORKERS if process.is_alive()]
    if workers:
        signals.ignore_lost_workers()  # torch's handler would raise "worker killed"
    for process in workers:
        process.kill()
        process.join(timeout=5)


atexit.register(end_workers)  # after multiprocessing.util's exit handler, so it runs before it


def _init_both(init: Callable[[int], None], worker_id: int) -> None:
    signals.ignore_in_worker(worker_id)
    init(worker_id)


class SignalSafeLoader(DataLoader):
    """A DataLoader whose workers start with the stop signals blocked, until ``signals.ignore_in_worker`` runs.

    Without that, a signal to the process group in the moment a worker starts (every epoch, unless
    its workers are persistent) kills it before its ``worker_init_fn``. Pass ``worker_init_fn=worker_init()``.
    The main process gets a signal that came meanwhile as soon as the workers are started.
    """

    def _get_iterator(self) -> Any:
        if self.num_workers == 0:
            return super()._get_iterator()
        signals.quiet_lost_worker_reports()  # torch's SIGCHLD handler may raise where it can only be printed
        with signals.blocked():
            iterator = super()._get_iterator()
        _WORKERS.update(getattr(iterator, "_workers", ()))
        return iterator


def _worker_generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def build_train_loader(
    dataset: Dataset,
    targets: Sequence[int],
    batch_size: int,
    seed: int,
    balanced: bool = False,
    rank: int = 0,
    world_size: int = 1,
    collate_fn: Callable[[Any], Any] | None = None,
    pin_memory: bool | None = None,
    num_workers: int | None = None,
) -> DataLoader:
    """The training DataLoader with an :class:`EpochSampler` (``loader.sampler``).

    ``batch_size`` is this process's batch; ``balanced``: classes equally often (``--sampler=balanced``);
    ``pin_memory`` None means "when CUDA is available", ``num_workers`` None :func:`default_num_workers`.
    """
    num_workers = resolve_num_workers(num_workers)
    sampler = EpochSampler(targets, seed, balanced=balanced, rank=rank, world_size=world_size)
    return SignalSafeLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        pin_memory=torch.cuda.is_available() if pin_memory is None else pin_memory,
        drop_last=len(sampler) >= 2 * batch_size,
        generator=_worker_generator(seed),
        persistent_workers=False,
        collate_fn=collate_fn,
        worker_init_fn=worker_init(),
    )


class ShardSampler(Sampler[int]):
    """Indices ``rank, rank + world_size, ...`` in order: every sample on exactly one process, none twice.

    For evaluation in distributed runs (ranks may get one sample more than others, so metrics
    reduced across processes equal those of one process over the whole set).
    """

    def __init__(self, length: int, rank: int = 0, world_size: int = 1) -> None:
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, {world_size})")
        self.length, self.rank, self.world_size = int(length), rank, world_size

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.rank, self.length, self.world_size))

    def __len__(self) -> int:
        return len(range(self.rank, self.length, self.world_size))


def build_eval_loader(
    dataset: Dataset,
    batch_size: int,
    rank: int = 0,
    world_size: int = 1,
    collate_fn: Callable[[Any], Any] | None = None,
    pin_memory: bool | None = None,
    num_workers: int | None = None,
) -> DataLoader:
    """The evaluation DataLoader: in order, this process's share (:class:`ShardSampler`) when ``world_size`` > 1."""
    num_workers = resolve_num_workers(num_workers)
    sampler = ShardSampler(len(dataset), rank, world_size) if world_size > 1 else None  # type: ignore[arg-type]  # a map-style Dataset: it has __len__
    return SignalSafeLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        sampler=sampler,
        num_workers=num_workers,
        pin_memory=torch.cuda.is_available() if pin_memory is None else pin_memory,
        persistent_workers=num_workers > 0,
        collate_fn=collate_fn,
        worker_init_fn=worker_init(),
    )


def reseed_for_epoch(loader: DataLoader, seed: int, epoch: int) -> None:
    """Make the coming epoch's order and worker seeds depend only on ``(seed, epoch)``."""
    sampler = loader.sampler
    if hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)
    if loader.generator is not None:
        loader.generator.manual_seed(seed * 100_003 + epoch)
