"""The ``bench`` command: throughput benchmarks (:mod:`ignite_fire.bench`), one mode per run."""

from __future__ import annotations

from typing import Any

from ignite_fire.commands.lazy import load_command, read_command
from ignite_fire.commands.options import check_options
from ignite_fire.errors import UserError

# The benchmark of each mode, as in cli.COMMANDS: `bench MODE --help` reads it without importing torch.
BENCH_MODES = {
    "train": "ignite_fire.bench.train:train",
    "input": "ignite_fire.bench.input:input_pipeline",
    "sync": "ignite_fire.bench.sync:sync",
    "gpu": "ignite_fire.bench.gpu:gpu",
}


def bench(mode: str = "train", **options: Any) -> None:
    """Benchmark throughput: MODE is train (the framework's loop vs plain PyTorch), input, sync or gpu.

    train: ignite_fire's trainer, a plain PyTorch loop and the seed's loop on the same batches (img/s).
    input: the input pipeline alone on one core (decode, draft mode, training transforms, memory cache).
    sync: training steps under CUDA's sync-debug mode; reports which settings synchronise (CUDA only).
    gpu: the sync check, then resnet50 bf16 eager and compiled throughput (CUDA only).
    `bench MODE --help` lists the options of MODE.
    """
    if mode not in BENCH_MODES:
        raise UserError(f"bench has no mode {mode!r}: choose one of {', '.join(BENCH_MODES)}")
    check_options(read_command(BENCH_MODES[mode]), options, f"bench {mode}")
    load_command(BENCH_MODES[mode])(**options)
