"""The three training loops the ``train`` benchmark compares, each on the same model and batches.

* ``ignite_fire``: :func:`ignite_fire.engines.create_trainer` + :class:`~ignite_fire.handlers.train_stats.TrainStats`,
  as a run uses them;
* ``plain``: a best-practice loop written here: the same autocast, channels_last and
  ``torch.compile``, non-blocking copies, loss and accuracy summed on the device and read only
  every ``log_every`` steps;
* ``seed``: the seed script's loop: fp16 autocast + GradScaler on CUDA (on a CPU the same precision
  as the others), no channels_last, no compile, ``loss.item()`` and an accuracy ``.item()`` every step.

The plain and seed loops are written out here on purpose, independent of the framework's step:
they are what it is measured against. Each builder returns a function that runs ``steps`` steps
on batches from an iterator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch import nn

from ignite_fire.bench.setup import Batch
from ignite_fire.engines import autocast, create_trainer, resolve_amp
from ignite_fire.handlers.train_stats import TrainStats
from ignite_fire.performance import compile_model


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
