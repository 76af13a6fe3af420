"""Trainer and evaluator Engines with a mixed-precision update step.

Ignite's ``create_supervised_trainer`` cannot do bf16 autocast or gradient clipping, and it
reads the loss back to the host every step. The step here keeps everything on the device:
the engine output holds detached tensors, and :class:`ignite_fire.handlers.train_stats.TrainStats`
reads them on the host only every ``log_every`` iterations.

Example::

    from ignite_fire import create_trainer, create_evaluator

    trainer = create_trainer(model, optimizer, torch.nn.CrossEntropyLoss(), device="cuda", amp="bf16")
    evaluator = create_evaluator(model, device="cuda", amp="bf16")
    trainer.run(train_loader, max_epochs=5)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch
from ignite.engine import Engine, Events
from torch import nn

from ignite_fire.choices import AMP_MODES


def resolve_amp(amp: str | bool, device: torch.device) -> str | bool:
    """The AMP mode that will really run on ``device``.

    ``"auto"``: bf16 on a GPU that supports it, else fp16 (with GradScaler) on CUDA, and fp32 on
    a CPU (bf16 autocast is many times slower than fp32 on CPUs without bf16 instructions).
    fp16 needs CUDA (its GradScaler does not run on CPU); elsewhere it becomes bf16. bf16 on a
    GPU without bf16 support becomes fp16.
    """
    if amp not in AMP_MODES:
        raise ValueError(f"amp must be one of {AMP_MODES}, got {amp!r}")
    if amp == "auto":
        if device.type != "cuda":
            return False
        amp = "bf16"
    if amp == "fp16" and device.type != "cuda":
        warnings.warn(f"--amp=fp16 needs CUDA: on {device.type} it runs as bf16", stacklevel=2)
        return "bf16"
    if amp == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        warnings.warn("--amp=bf16 is not supported by this GPU: it runs as fp16", stacklevel=2)
        return "fp16"
    return amp


def autocast(device: torch.device, amp: str | bool) -> AbstractContextManager[Any]:
    if amp is False:
        return nullcontext()
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def prepare_batch(
    batch: Sequence[torch.Tensor], device: torch.device, channels_last: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Move ``(x, y)`` to ``device`` without waiting (pinned memory makes the copy asynchronous)."""
    x, y = batch[0], batch[1]
    memory_format = torch.channels_last if channels_last and x.dim() == 4 else torch.preserve_format
    x = x.to(device, non_blocking=True, memory_format=memory_format)
    y = y.to(device, non_blocking=True)
    return x, y


def create_train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    device: torch.device,
    amp: str | bool = False,
    scaler: torch.amp.GradScaler | None = None,
    grad_clip: float | None = None,
    accumulation_steps: int = 1,
    channels_last: bool = False,
    batch_transform: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> Callable[[Engine, Sequence[torch.Tensor]], dict[str, Any]]:
    """The update function of the trainer.

    ``batch_transform`` runs on the device after the copy (e.g. MixUp/CutMix, GPU augmentation);
    it may return soft targets (N, C), which the loss must accept. Returns
    ``{"loss", "correct", "nonfinite"}`` as device tensors and ``"count"`` as an int: nothing here
    synchronises.
    """
    if accumulation_steps < 1:
        raise ValueError(f"accumulation_steps must be >= 1, got {accumulation_steps}")
    if amp == "fp16" and scaler is None:
        raise ValueError("amp='fp16' needs a torch.amp.GradScaler")

    def step(engine: Engine, batch: Sequence[torch.Tensor]) -> dict[str, Any]:
        model.train()
        x, y = prepare_batch(batch, device, channels_last)
        if batch_transform is not None:
            x, y = batch_transform(x, y)
        with autocast(device, amp):
            logits = model(x)
            loss = loss_fn(logits, y)
        scaled = loss / accumulation_steps
        if scaler is not None:
            scaler.scale(scaled).backward()
        else:
            scaled.backward()

        if engine.state.iteration % accumulation_steps == 0:
            if grad_clip is not None:
                if scaler is not None:
                    scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            if scaler is not None:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        hard_y = y.argmax(dim=1) if y.dim() == 2 else y
        loss = loss.detach()
        return {
            "loss": loss.float(),
            "correct": (logits.detach().argmax(dim=1) == hard_y).sum(),
            "count": x.shape[0],
            "nonfinite": ~torch.isfinite(loss),
        }

    return step


def create_trainer(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    device: str | torch.device = "cpu",
    amp: str | bool = False,
    scaler: torch.amp.GradScaler | None = None,
    grad_clip: float | None = None,
    accumulation_steps: int = 1,
    channels_last: bool = False,
    batch_transform: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> Engine:
    """An Ignite trainer Engine running :func:`create_train_step`.

    With ``amp="fp16"`` and no ``scaler`` given, a GradScaler is created; it is available as
    ``trainer.state.scaler`` (checkpoint it to resume exactly).
    """
    device = torch.device(device)
    amp = resolve_amp(amp, device)
    if amp == "fp16" and scaler is None:
        scaler = torch.amp.GradScaler(device.type)
    step = create_train_step(
        model,
        optimizer,
        loss_fn,
        device,
        amp,
        scaler,
        grad_clip,
        accumulation_steps,
        channels_last,
        batch_transform,
    )
    trainer = Engine(step)
    trainer.state.scaler = scaler
    trainer.state.amp = amp

    @trainer.on(Events.STARTED)
    def _zero_grad(_: Engine) -> None:
        optimizer.zero_grad(set_to_none=True)

    return trainer


def create_evaluator(
    model: nn.Module,
    device: str | torch.device = "cpu",
    amp: str | bool = False,
    channels_last: bool = False,
    metrics: dict[str, Any] | None = None,
) -> Engine:
    """An Ignite evaluator Engine whose output is ``(logits as float32, targets)``.

    ``metrics`` (name -> ignite Metric) are attached; see :func:`ignite_fire.metrics.attach_validation_metrics`
    for the framework's set.
    """
    device = torch.device(device)
    amp = resolve_amp(amp, device)

    @torch.no_grad()
    def step(_: Engine, batch: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        model.eval()
        x, y = prepare_batch(batch, device, channels_last)
        with autocast(device, amp):
            logits = model(x)
        return logits.float(), y

    evaluator = Engine(step)
    for name, metric in (metrics or {}).items():
        metric.attach(evaluator, name)
    return evaluator
