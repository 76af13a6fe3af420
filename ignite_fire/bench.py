"""Throughput benchmark: ignite_fire's trainer against a plain PyTorch loop and the seed's loop; the input pipeline.

    python -m ignite_fire.bench train [--model=resnet18 --image_size=64 --batch_size=32 --device=cpu --amp=False]
    python -m ignite_fire.bench train --model=resnet50 --image_size=256 --batch_size=256 --device=cuda --amp=bf16
    python -m ignite_fire.bench train ... --compile=True
    python -m ignite_fire.bench train ... --data=../shared/data/houses4 [--cache=True]
    python -m ignite_fire.bench input --data=../shared/data/houses4_original/val [--image_size=224]
    python -m ignite_fire.bench sync [--model=resnet18]                      (CUDA only)
    python -m ignite_fire.bench gpu [--json_out=gpu.json]                    (CUDA: sync + resnet50 eager/compiled)

``train`` trains the same model (same initial weights, optimizer and batches) in one process
with three loops, alternating between them for ``rounds`` rounds of ``steps`` steps each, and
prints the median img/s of each and the ratios:

* ``ignite_fire``: :func:`ignite_fire.engines.create_trainer` + :class:`~ignite_fire.handlers.train_stats.TrainStats`,
  as a run uses them;
* ``plain``: a best-practice loop written here: the same autocast, channels_last and
  ``torch.compile``, non-blocking copies, loss and accuracy summed on the device and read only
  every ``log_every`` steps;
* ``seed``: the seed script's loop: fp16 autocast + GradScaler on CUDA (on a CPU the same precision
  as the others), no channels_last, no compile, ``loss.item()`` and an accuracy ``.item()`` every step.

``--data=synthetic`` (default) cycles a few random batches already on the device; a folder
trains on its images through the framework's datasets and loaders (``--cache=True``: the memory cache).

``input`` times the input pipeline alone on one core (one thread, no workers): PIL decode +
resize to ``image_size`` with and without JPEG draft mode; the training pipeline (decode,
random resized crop, flip, to tensor, normalise) with and without draft mode; and the memory
cache (building it, then an epoch from it).

``sync`` runs training steps under ``torch.cuda.set_sync_debug_mode("error")``: any host-device
synchronisation inside the step (or TrainStats's accumulation) raises; it checks bf16 and fp32,
with and without gradient clipping (fp16 with GradScaler is expected to synchronise).
"""

from __future__ import annotations

import itertools
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
import torchvision
from torch import nn

from ignite_fire.config import DEFAULTS
from ignite_fire.data.images import is_image_file
from ignite_fire.engines import autocast, create_trainer, resolve_amp
from ignite_fire.handlers.train_stats import TrainStats
from ignite_fire.performance import compile_model, configure_cuda

Batch = tuple[torch.Tensor, torch.Tensor]
CONTENDERS = ("ignite_fire", "plain", "seed")


def _device(spec: str) -> torch.device:
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(spec)


def _amp(value: Any) -> str | bool:
    if isinstance(value, str) and value.lower() in ("false", "fp32", "none", "off"):
        return False
    return value


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def build_model(name: str, num_classes: int, seed: int, device: torch.device) -> nn.Module:
    torch.manual_seed(seed)  # every contender starts from the same weights
    if name == "tiny_cnn":
        model: nn.Module = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(16, num_classes),
        )
    else:
        model = torchvision.models.get_model(name, weights=None, num_classes=num_classes)
    return model.to(device)


def build_optimizer(name: str, model: nn.Module) -> torch.optim.Optimizer:
    if name == "Adam":
        return torch.optim.Adam(model.parameters(), lr=1e-3)
    return torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)


# ---------------------------------------------------------------------------------------------
# Data


def synthetic_batches(
    batch_size: int, image_size: int, num_classes: int, device: torch.device, count: int = 4
) -> Iterator[Batch]:
    """``count`` random batches on ``device``, cycled forever."""
    generator = torch.Generator().manual_seed(0)
    batches = [
        (
            torch.randn(batch_size, 3, image_size, image_size, generator=generator).to(device),
            torch.randint(0, num_classes, (batch_size,), generator=generator).to(device),
        )
        for _ in range(count)
    ]
    return itertools.cycle(batches)


def folder_batches(
    data: str, batch_size: int, image_size: int, num_workers: int | None, cache: bool, device: torch.device
) -> tuple[Iterator[Batch], int]:
    """Training batches of the images under ``data`` through the framework's datasets and loaders, forever."""
    from ignite_fire.data.cache import cache_splits
    from ignite_fire.data.datasets import build_datasets
    from ignite_fire.data.loaders import build_train_loader, reseed_for_epoch
    from ignite_fire.data.transforms import build_transforms

    config = {
        **DEFAULTS,
        "data_dir": data,
        "image_size": image_size,
        "batch_size": batch_size,
        "num_workers": num_workers,
        "cache": "memory" if cache else None,
    }
    splits = build_datasets(config, build_transforms(config))
    splits, options = cache_splits(None, splits, config, device)
    loader = build_train_loader(splits.train, splits.train.targets, config, batch_size, **options)

    def forever() -> Iterator[Batch]:
        for epoch in itertools.count(1):
            reseed_for_epoch(loader, int(config["seed"]), epoch)
            yield from loader

    return forever(), len(splits.classes)


# ---------------------------------------------------------------------------------------------
# The three loops. Each returns a function that runs `steps` steps on batches from an iterator.


def ignite_fire_loop(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    amp: str | bool,
    channels_last: bool,
    compile: bool,
    log_every: int,
) -> Callable[[Iterator[Batch], int], None]:
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    trainer = create_trainer(
        compile_model(model, compile), optimizer, nn.CrossEntropyLoss(), device, amp=amp, channels_last=channels_last
    )
    TrainStats(log_every, optimizer).attach(trainer)

    def run(batches: Iterator[Batch], steps: int) -> None:
        trainer.run(batches, max_epochs=1, epoch_length=steps)

    return run


def plain_loop(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    amp: str | bool,
    channels_last: bool,
    compile: bool,
    log_every: int,
) -> Callable[[Iterator[Batch], int], None]:
    """A best-practice PyTorch loop: no host synchronisation except every ``log_every`` steps."""
    memory_format = torch.channels_last if channels_last else torch.preserve_format
    model = model.to(memory_format=memory_format)
    forward = compile_model(model, compile)
    loss_fn = nn.CrossEntropyLoss()
    amp = resolve_amp(amp, device)
    scaler = torch.amp.GradScaler(device.type) if amp == "fp16" else None

    def run(batches: Iterator[Batch], steps: int) -> None:
        model.train()
        loss_sum = torch.zeros((), device=device, dtype=torch.float64)
        correct = torch.zeros((), device=device, dtype=torch.int64)
        seen = 0
        for step in range(1, steps + 1):
            x, y = next(batches)
            x = x.to(device, non_blocking=True, memory_format=memory_format)
            y = y.to(device, non_blocking=True)
            with autocast(device, amp):
                logits = forward(x)
                loss = loss_fn(logits, y)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            loss_sum += loss.detach() * x.shape[0]
            correct += (logits.detach().argmax(dim=1) == y).sum()
            seen += x.shape[0]
            if step % log_every == 0 or step == steps:
                _ = (loss_sum.item() / seen, correct.item() / seen)  # what a logger would read

    return run


def seed_loop(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    amp: str | bool,
    channels_last: bool,
    compile: bool,
    log_every: int,
) -> Callable[[Iterator[Batch], int], None]:
    """The seed script's loop (fp16 + GradScaler on CUDA, ``.item()`` twice every step)."""
    criterion = nn.CrossEntropyLoss()
    on_cuda = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda") if on_cuda else None
    cpu_amp = resolve_amp(amp, device)

    def run(batches: Iterator[Batch], steps: int) -> None:
        model.train()
        running_loss, correct, total = 0.0, 0, 0
        for _ in range(steps):
            inputs, targets = next(batches)
            inputs, targets = inputs.to(device), targets.to(device)
            optimizer.zero_grad()
            if scaler is not None:
                with torch.autocast("cuda", dtype=torch.float16):
                    outputs = model(inputs)
                    loss = criterion(outputs, targets)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                with autocast(device, cpu_amp):
                    outputs = model(inputs)
                    loss = criterion(outputs, targets)
                loss.backward()
                optimizer.step()
            _, predicted = outputs.max(1)
            total += targets.size(0)
            correct += predicted.eq(targets).sum().item()
            running_loss += loss.item()

    return run


LOOPS = {"ignite_fire": ignite_fire_loop, "plain": plain_loop, "seed": seed_loop}


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
    if threads:
        torch.set_num_threads(int(threads))
    torch_device = _device(device)
    configure_cuda(torch_device)
    amp = _amp(amp)
    if isinstance(contenders, str):  # python-fire turns "a,b" into a tuple
        contenders = contenders.split(",")
    names = [str(name).strip() for name in contenders if str(name).strip()]
    unknown = sorted(set(names) - set(LOOPS))
    if unknown:
        raise SystemExit(f"unknown contender {unknown[0]}: choose from {', '.join(LOOPS)}")
    if data == "synthetic":
        batches = synthetic_batches(batch_size, image_size, num_classes, torch_device)
    else:
        batches, num_classes = folder_batches(data, batch_size, image_size, num_workers, cache, torch_device)
    runs: dict[str, Callable[[Iterator[Batch], int], None]] = {}
    for name in names:
        net = build_model(model, num_classes, seed, torch_device)
        runs[name] = LOOPS[name](
            net, build_optimizer(optimizer, net), torch_device, amp, channels_last, compile, log_every
        )
    settings = (
        f"{model}, {image_size} px, batch {batch_size}, {torch_device}, amp={resolve_amp(amp, torch_device)}, "
        f"channels_last={channels_last}, compile={compile}, data={data}{' (memory cache)' if cache else ''}, "
        f"{optimizer}, {torch.get_num_threads()} threads"
    )
    print(f"bench train: {settings}", flush=True)
    for name in names:  # compilation, cuDNN autotuning, allocator warm-up
        start = time.perf_counter()
        runs[name](batches, warmup)
        _synchronize(torch_device)
        print(f"  warm-up {name}: {time.perf_counter() - start:.1f} s", flush=True)

    rates: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(rounds):
        order = names[round_index % len(names) :] + names[: round_index % len(names)]
        for name in order:
            _synchronize(torch_device)
            start = time.perf_counter()
            runs[name](batches, steps)
            _synchronize(torch_device)
            rates[name].append(steps * batch_size / (time.perf_counter() - start))
        line = "  ".join(f"{name} {rates[name][-1]:.1f}" for name in names)
        print(f"  round {round_index + 1}/{rounds}: {line} img/s", flush=True)

    medians = {name: statistics.median(values) for name, values in rates.items()}
    print(f"\n{'loop':<12} {'img/s (median)':>15} {'min':>9} {'max':>9}")
    for name in names:
        print(f"{name:<12} {medians[name]:>15.1f} {min(rates[name]):>9.1f} {max(rates[name]):>9.1f}")
    ratios: dict[str, float] = {}
    for a, b in itertools.combinations(names, 2):
        per_round = statistics.median(x / y for x, y in zip(rates[a], rates[b], strict=True))
        ratios[f"{a}/{b}"] = medians[a] / medians[b]
        print(f"{a}/{b}: {medians[a] / medians[b]:.3f} (median of per-round ratios {per_round:.3f})")
    result = {"settings": settings, "img_per_s": rates, "median_img_per_s": medians, "ratios": ratios}
    if json_out:
        Path(json_out).write_text(json.dumps(result, indent=2))
    return result


# ---------------------------------------------------------------------------------------------
# Input pipeline


def image_paths(data: str, limit: int | None = None) -> list[str]:
    root = Path(data).expanduser()
    if not root.is_dir():
        raise SystemExit(f"no folder {root}")
    paths = sorted(str(p) for p in root.rglob("*") if is_image_file(p))
    if not paths:
        raise SystemExit(f"no images under {root}")
    return paths[:limit] if limit else paths


def _resize_shorter(path: str, size: int, how: str) -> None:
    """Decode ``path`` (``how``: imagefolder, plain or draft) and resize its shorter side to ``size`` with PIL."""
    import torchvision.transforms.functional as F
    from PIL import Image

    from ignite_fire.data.images import load_image

    if how == "imagefolder":  # torchvision's default loader: no EXIF orientation
        with open(path, "rb") as file:
            image = Image.open(file).convert("RGB")
    else:
        image = load_image(path, size if how == "draft" else None)
    F.resize(image, size, antialias=True)


def _time_epoch(loader: Any) -> float:
    start = time.perf_counter()
    for _ in loader:
        pass
    return time.perf_counter() - start


def input_pipeline(
    data: str = "../shared/data/houses4_original/val",
    image_size: int = 224,
    batch_size: int = 32,
    repeats: int = 3,
    limit: int | None = None,
    json_out: str | None = None,
) -> dict[str, Any]:
    """Per-core img/s of decode+resize (plain vs draft), of the training pipeline (plain vs draft) and of the cache."""
    from torch.utils.data import DataLoader

    from ignite_fire.data.cache import CachedImages, decode_all, keep_batch
    from ignite_fire.data.datasets import ImageListDataset
    from ignite_fire.data.decode import resize_size
    from ignite_fire.data.transforms import build_transforms

    torch.set_num_threads(1)
    paths = image_paths(data, limit)
    n = len(paths)
    print(f"bench input: {n} images under {data}, {image_size} px, 1 core (1 thread, no workers)", flush=True)
    results: dict[str, Any] = {"data": data, "images": n, "image_size": image_size}

    def rate(seconds: list[float]) -> float:
        return n / statistics.median(seconds)

    # 1. decode + resize the shorter side to image_size, interleaved.
    times: dict[str, list[float]] = {"imagefolder": [], "plain": [], "draft": []}
    for _ in range(repeats):
        for name in times:
            start = time.perf_counter()
            for path in paths:
                _resize_shorter(path, image_size, name)
            times[name].append(time.perf_counter() - start)
    folder, plain, draft = (rate(times[name]) for name in ("imagefolder", "plain", "draft"))
    print(
        f"decode + resize to {image_size} px:  ImageFolder loader {folder:.0f} img/s   plain PIL (EXIF) {plain:.0f} "
        f"img/s   draft {draft:.0f} img/s   ({draft / plain:.2f}x plain, {draft / folder:.2f}x ImageFolder)"
    )
    results["decode_resize"] = {"imagefolder": folder, "plain": plain, "draft": draft, "ratio": draft / plain}

    # 2. the training pipeline through a DataLoader (plain, draft, and the memory cache), interleaved.
    # The cache is built first (epoch 1: decoding, one thread here); its later epochs only gather and augment.
    train_tf, _ = build_transforms({"image_size": image_size})
    samples = [(path, 0) for path in paths]
    start = time.perf_counter()
    store = decode_all(paths, resize_size(image_size), image_size, draft=True, threads=1)
    build = time.perf_counter() - start
    datasets = {
        "plain": ImageListDataset(samples, ["all"], train_tf, None),
        "draft": ImageListDataset(samples, ["all"], train_tf, resize_size(image_size)),
        "cache": CachedImages(store, [0] * n, samples, ["all"], image_size, train=True),
    }
    loaders = {
        name: DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=True,
            num_workers=0,
            collate_fn=keep_batch if name == "cache" else None,
        )
        for name, dataset in datasets.items()
    }
    times = {name: [] for name in loaders}
    for _ in range(repeats):
        for name, loader in loaders.items():
            times[name].append(_time_epoch(loader))
    plain_epoch, draft_epoch, later = (rate(times[name]) for name in ("plain", "draft", "cache"))
    print(
        f"training pipeline (decode, random resized crop, flip, normalise):  plain {plain_epoch:.0f} img/s   "
        f"draft {draft_epoch:.0f} img/s   ({draft_epoch / plain_epoch:.2f}x)"
    )
    results["train_pipeline"] = {"plain": plain_epoch, "draft": draft_epoch, "ratio": draft_epoch / plain_epoch}
    first = n / (build + times["cache"][0])
    print(
        f"memory cache: building {n / build:.0f} img/s ({build:.1f} s, 1 thread; in a run: all cores), "
        f"first epoch {first:.0f} img/s, later epochs {later:.0f} img/s = "
        f"{later / plain_epoch:.1f}x plain decoding, {later / draft_epoch:.1f}x draft decoding"
    )
    results["cache"] = {
        "build_img_per_s": n / build,
        "first_epoch": first,
        "later_epochs": later,
        "vs_plain": later / plain_epoch,
        "vs_draft": later / draft_epoch,
    }
    if json_out:
        Path(json_out).write_text(json.dumps(results, indent=2))
    return results


# ---------------------------------------------------------------------------------------------
# The sync-free check (CUDA)


def sync(
    model: str = "resnet18",
    image_size: int = 64,
    batch_size: int = 32,
    steps: int = 10,
    warmup: int = 3,
    compile: bool = False,
) -> dict[str, str]:
    """Run trainer steps under ``torch.cuda.set_sync_debug_mode("error")``; report which settings synchronise."""
    if not torch.cuda.is_available():
        raise SystemExit("bench sync needs CUDA")
    device = torch.device("cuda")
    configure_cuda(device)
    cases: dict[str, dict[str, Any]] = {
        "bf16, SGD": {"amp": "bf16"},
        "bf16, Adam": {"amp": "bf16", "optimizer": "Adam"},
        "bf16, SGD, grad_clip": {"amp": "bf16", "grad_clip": 1.0},
        "fp32, SGD": {"amp": False},
        "fp16 + GradScaler (expected to sync)": {"amp": "fp16"},
    }
    report: dict[str, str] = {}
    for label, options in cases.items():
        report[label] = check_sync_free(model, image_size, batch_size, steps, warmup, compile, **options)
        print(f"{label:<40} {report[label]}", flush=True)
    return report


def check_sync_free(
    model: str,
    image_size: int,
    batch_size: int,
    steps: int,
    warmup: int,
    compile: bool = False,
    amp: str | bool = "bf16",
    grad_clip: float | None = None,
    optimizer: str = "SGD",
) -> str:
    """``"no sync"`` if ``steps`` trainer iterations (after ``warmup``) never synchronise, else the first error."""
    from ignite.engine import Events

    device = torch.device("cuda")
    net = build_model(model, 10, 0, device).to(memory_format=torch.channels_last)
    trainer = create_trainer(
        compile_model(net, compile),
        build_optimizer(optimizer, net),
        nn.CrossEntropyLoss(),
        device,
        amp=amp,
        grad_clip=grad_clip,
        channels_last=True,
    )
    TrainStats(10**9).attach(trainer)  # accumulates every step, reads only at the end of the epoch

    @trainer.on(Events.ITERATION_STARTED(once=warmup + 1))
    def _strict(_: Any) -> None:
        torch.cuda.set_sync_debug_mode("error")

    @trainer.on(Events.ITERATION_COMPLETED(once=warmup + steps))
    def _relaxed(_: Any) -> None:
        torch.cuda.set_sync_debug_mode(0)

    generator = torch.Generator().manual_seed(0)
    batches = [
        (
            torch.randn(batch_size, 3, image_size, image_size, generator=generator).pin_memory(),
            torch.randint(0, 10, (batch_size,), generator=generator).pin_memory(),
        )
        for _ in range(2)
    ]
    try:
        trainer.run(itertools.cycle(batches), max_epochs=1, epoch_length=warmup + steps)
    except RuntimeError as error:
        return f"SYNC: {str(error).splitlines()[0]}"
    finally:
        torch.cuda.set_sync_debug_mode(0)
    return "no sync"


def gpu(
    model: str = "resnet50",
    image_size: int = 256,
    batch_size: int = 256,
    steps: int = 20,
    rounds: int = 5,
    json_out: str | None = None,
) -> dict[str, Any]:
    """The issue's GPU check in one command: the sync check, then bf16 eager and compiled throughput.

    Prints ignite_fire/plain and ignite_fire/seed (eager), and compiled ignite_fire / eager seed.
    """
    report: dict[str, Any] = {"sync": sync()}
    common = {"model": model, "image_size": image_size, "batch_size": batch_size, "device": "cuda", "amp": "bf16"}
    eager = train(**common, steps=steps, warmup=5, rounds=rounds)
    compiled = train(**common, compile=True, steps=steps, warmup=5, rounds=rounds, contenders="ignite_fire,plain")
    seed_rate = eager["median_img_per_s"]["seed"]
    summary = {
        "ignite_fire/plain (eager)": eager["ratios"]["ignite_fire/plain"],
        "ignite_fire/seed (eager)": eager["ratios"]["ignite_fire/seed"],
        "ignite_fire/plain (compiled)": compiled["ratios"]["ignite_fire/plain"],
        "compiled ignite_fire / eager seed": compiled["median_img_per_s"]["ignite_fire"] / seed_rate,
    }
    print(f"\nGPU check ({torch.cuda.get_device_name()}): {model}, {image_size} px, batch {batch_size}, bf16")
    for label, value in summary.items():
        print(f"  {label:<36} {value:.3f}")
    report.update(eager=eager, compiled=compiled, summary=summary)
    if json_out:
        Path(json_out).write_text(json.dumps(report, indent=2))
    return report


def main(argv: list[str] | None = None) -> None:
    import fire

    commands = {"train": train, "input": input_pipeline, "sync": sync, "gpu": gpu}
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in commands:
        args.insert(0, "train")
    fire.Fire(commands, command=args, name="python -m ignite_fire.bench", serialize=lambda _: None)


if __name__ == "__main__":
    main()
