"""The ``bench`` command: throughput benchmarks (:mod:`ignite_fire.bench`), one mode per run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ignite_fire.commands.options import check_options
from ignite_fire.errors import UserError


def bench_modes() -> dict[str, Callable[..., Any]]:
    """The benchmark of each mode (imported here, so ``--help`` does not load torch)."""
    from ignite_fire.bench.gpu import gpu
    from ignite_fire.bench.input import input_pipeline
    from ignite_fire.bench.sync import sync
    from ignite_fire.bench.train import train

    return {"train": train, "input": input_pipeline, "sync": sync, "gpu": gpu}


def bench(mode: str = "train", **options: Any) -> None:
    """Benchmark throughput: MODE is train (the framework's loop vs plain PyTorch), input, sync or gpu.

    train: ignite_fire's trainer, a plain PyTorch loop and the seed's loop on the same batches (img/s).
    input: the input pipeline alone on one core (decode, draft mode, training transforms, memory cache).
    sync: training steps under CUDA's sync-debug mode; reports which settings synchronise (CUDA only).
    gpu: the sync check, then resnet50 bf16 eager and compiled throughput (CUDA only).
    `bench MODE --help` lists the options of MODE.
    """
    modes = bench_modes()
    if mode not in modes:
        raise UserError(f"bench has no mode {mode!r}: choose one of {', '.join(modes)}")
    check_options(modes[mode], options, f"bench {mode}")
    modes[mode](**options)
