"""``bench sync`` (CUDA): the training step never synchronises host and device.

Training steps run under ``torch.cuda.set_sync_debug_mode("error")``: any host-device
synchronisation inside the step (or TrainStats's accumulation) raises. It checks bf16 and fp32,
with and without gradient clipping (fp16 with GradScaler is expected to synchronise).
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
from torch import nn

from ignite_fire.bench.setup import bench_optimizer, seeded_model
from ignite_fire.engines import create_trainer
from ignite_fire.errors import UserError
from ignite_fire.handlers.train_stats import TrainStats
from ignite_fire.performance import compile_model, configure_cuda


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
        raise UserError("bench sync needs a CUDA GPU: none is available here")
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
    net = seeded_model(model, 10, 0, device).to(memory_format=torch.channels_last)
    trainer = create_trainer(
        compile_model(net, compile),
        bench_optimizer(optimizer, net),
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
