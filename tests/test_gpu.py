"""GPU checks (skipped without CUDA): the training step never synchronises, the bench's GPU mode, the cache on the GPU.

Run on a GPU machine with ``pytest -q tests/test_gpu.py``; the numbers of the issue come from
``python -m ignite_fire bench train --model=resnet50 --image_size=256 --batch_size=256 --device=cuda --amp=bf16``
(and the same with ``--compile=True``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ignite_fire.bench.sync import check_sync_free
from ignite_fire.bench.train import train as bench_train
from ignite_fire.config import DEFAULTS, RunConfig
from ignite_fire.data.cache import cache_splits
from ignite_fire.data.datasets import build_datasets
from ignite_fire.data.transforms import build_transforms

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.parametrize(
    "options",
    [{"amp": "bf16"}, {"amp": "bf16", "optimizer": "Adam"}, {"amp": "bf16", "grad_clip": 1.0}, {"amp": False}],
    ids=["bf16-sgd", "bf16-adam", "bf16-clip", "fp32"],
)
def test_the_training_step_does_not_synchronise(options: dict) -> None:
    assert check_sync_free("resnet18", 64, 32, steps=10, warmup=3, **options) == "no sync"


def test_fp16_with_gradscaler_synchronises_as_documented() -> None:
    assert check_sync_free("resnet18", 64, 32, steps=5, warmup=3, amp="fp16").startswith("SYNC")


def test_bench_gpu_mode_runs_all_three_loops() -> None:
    result = bench_train(
        model="resnet18", image_size=64, batch_size=64, device="cuda", amp="bf16", steps=5, warmup=3, rounds=2
    )
    assert all(rate > 0 for rate in result["median_img_per_s"].values())


def test_memory_cache_lives_on_the_gpu_and_matches_the_cpu_validation_batches(digits_dir: Path) -> None:
    config = {**DEFAULTS, "data_dir": str(digits_dir), "image_size": 16, "seed": 0}
    config.update(cache="memory", num_workers=0)
    splits = build_datasets(config, build_transforms(config))
    on_gpu, options = cache_splits(None, splits, RunConfig.from_dict(config), torch.device("cuda"))
    on_cpu, _ = cache_splits(None, splits, RunConfig.from_dict(config), torch.device("cpu"))
    assert on_gpu.train.images.is_cuda and options["num_workers"] == 0 and options["pin_memory"] is False
    x, y = on_gpu.train.__getitems__(list(range(8)))
    assert x.is_cuda and y.is_cuda and x.shape == (8, 3, 16, 16)
    gpu_val, _ = on_gpu.val.__getitems__(list(range(8)))
    cpu_val, _ = on_cpu.val.__getitems__(list(range(8)))
    assert torch.allclose(gpu_val.cpu(), cpu_val, atol=1e-6)
