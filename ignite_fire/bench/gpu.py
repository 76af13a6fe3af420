"""``bench gpu`` (CUDA): the GPU check in one command, the sync check then resnet50 bf16 eager and compiled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ignite_fire.bench.sync import sync
from ignite_fire.bench.train import train


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
    common: dict[str, Any] = {
        "model": model, "image_size": image_size, "batch_size": batch_size, "device": "cuda", "amp": "bf16"
    }
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
