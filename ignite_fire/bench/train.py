"""``bench train``: ignite_fire's trainer against a plain PyTorch loop and the seed's loop, on the same batches.

``--data=synthetic`` (default) cycles a few random batches already on the device; a folder trains
on its images through the framework's datasets and loaders (``--cache=True``: the memory cache).
"""

from __future__ import annotations

import itertools
import json
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from ignite_fire.bench.loops import LOOPS
from ignite_fire.bench.setup import (
    Batch,
    bench_optimizer,
    folder_batches,
    parse_amp,
    seeded_model,
    synchronize,
    synthetic_batches,
)
from ignite_fire.engines import resolve_amp
from ignite_fire.errors import UserError
from ignite_fire.performance import configure_cuda

Run = Callable[[Iterator[Batch], int], None]


def contender_names(contenders: str | Sequence[str]) -> list[str]:
    """``"a,b"`` (or the tuple python-fire makes of it) as a list of known loop names."""
    if isinstance(contenders, str):
        contenders = contenders.split(",")
    names = [str(name).strip() for name in contenders if str(name).strip()]
    unknown = sorted(set(names) - set(LOOPS))
    if unknown or not names:
        raise UserError(
            f"--contenders: unknown loop {unknown[0] if unknown else '(none)'}: choose from {', '.join(LOOPS)}"
        )
    return names


def time_rounds(
    runs: dict[str, Run], batches: Iterator[Batch], steps: int, batch_size: int, rounds: int, device: torch.device
) -> dict[str, list[float]]:
    """img/s of each run in each round; the order rotates every round so no loop always goes first."""
    names = list(runs)
    rates: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(rounds):
        order = names[round_index % len(names) :] + names[: round_index % len(names)]
        for name in order:
            synchronize(device)
            start = time.perf_counter()
            runs[name](batches, steps)
            synchronize(device)
            rates[name].append(steps * batch_size / (time.perf_counter() - start))
        line = "  ".join(f"{name} {rates[name][-1]:.1f}" for name in names)
        print(f"  round {round_index + 1}/{rounds}: {line} img/s", flush=True)
    return rates


def report_rates(rates: dict[str, list[float]]) -> tuple[dict[str, float], dict[str, float]]:
    """Print the table of median/min/max img/s and the pairwise ratios; returns (medians, ratios)."""
    medians = {name: statistics.median(values) for name, values in rates.items()}
    print(f"\n{'loop':<12} {'img/s (median)':>15} {'min':>9} {'max':>9}")
    for name, values in rates.items():
        print(f"{name:<12} {medians[name]:>15.1f} {min(values):>9.1f} {max(values):>9.1f}")
    ratios: dict[str, float] = {}
    for a, b in itertools.combinations(rates, 2):
        per_round = statistics.median(x / y for x, y in zip(rates[a], rates[b], strict=True))
        ratios[f"{a}/{b}"] = medians[a] / medians[b]
        print(f"{a}/{b}: {medians[a] / medians[b]:.3f} (median of per-round ratios {per_round:.3f})")
    return medians, ratios


def train(
    model: str = "resnet18",
    image_size: int = 64,
    batch_size: int = 32,
    device: str = "auto",
    amp: Any = "auto",
    channels_last: bool = True,
    compile: bool = False,
    data: str = "synthetic",
    cache: bool = False,
    num_workers: int | None = None,
    optimizer: str = "SGD",
    steps: int = 20,
    warmup: int = 5,
    rounds: int = 5,
    log_every: int = 10,
    num_classes: int = 10,
    contenders: str | tuple[str, ...] = "ignite_fire,plain,seed",
    threads: int | None = None,
    seed: int = 0,
    json_out: str | None = None,
) -> dict[str, Any]:
    """Train with each contender in turn, ``rounds`` x ``steps`` steps each; print median img/s and ratios."""
    from ignite_fire.devices import resolve_device

    if threads:
        torch.set_num_threads(int(threads))
    torch_device = resolve_device(str(device))
    configure_cuda(torch_device)
    amp = parse_amp(amp)
    names = contender_names(contenders)
    if data == "synthetic":
        batches = synthetic_batches(batch_size, image_size, num_classes, torch_device)
    else:
        batches, num_classes = folder_batches(data, batch_size, image_size, num_workers, cache, torch_device)
    runs: dict[str, Run] = {}
    for name in names:
        net = seeded_model(model, num_classes, seed, torch_device)
        runs[name] = LOOPS[name](
            net, bench_optimizer(optimizer, net), torch_device, amp, channels_last, compile, log_every
        )
    settings = (
        f"{model}, {image_size} px, batch {batch_size}, {torch_device}, amp={resolve_amp(amp, torch_device)}, "
        f"channels_last={channels_last}, compile={compile}, data={data}{' (memory cache)' if cache else ''}, "
        f"{optimizer}, {torch.get_num_threads()} threads"
    )
    print(f"bench train: {settings}", flush=True)
    for name, run in runs.items():  # compilation, cuDNN autotuning, allocator warm-up
        start = time.perf_counter()
        run(batches, warmup)
        synchronize(torch_device)
        print(f"  warm-up {name}: {time.perf_counter() - start:.1f} s", flush=True)
    rates = time_rounds(runs, batches, steps, batch_size, rounds, torch_device)
    medians, ratios = report_rates(rates)
    result = {"settings": settings, "img_per_s": rates, "median_img_per_s": medians, "ratios": ratios}
    if json_out:
        Path(json_out).write_text(json.dumps(result, indent=2))
    return result
