"""The benchmark runs (CPU, tiny settings): three loops alternating, a folder with the memory cache, the input mode."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ignite_fire import bench
from tests.conftest import REPO


def test_train_mode_times_the_three_loops_on_the_same_batches() -> None:
    result = bench.train(
        model="tiny_cnn", image_size=16, batch_size=8, device="cpu", amp=False, steps=2, warmup=1, rounds=2
    )
    assert set(result["median_img_per_s"]) == {"ignite_fire", "plain", "seed"}
    assert all(len(rates) == 2 and min(rates) > 0 for rates in result["img_per_s"].values())
    assert set(result["ratios"]) == {"ignite_fire/plain", "ignite_fire/seed", "plain/seed"}


def test_train_mode_on_an_image_folder_through_the_memory_cache(digits_dir: Path) -> None:
    result = bench.train(
        model="tiny_cnn",
        image_size=16,
        batch_size=8,
        device="cpu",
        amp=False,
        data=str(digits_dir),
        cache=True,
        num_workers=0,
        steps=2,
        warmup=1,
        rounds=1,
        contenders="ignite_fire,plain",
    )
    assert "memory cache" in result["settings"] and result["median_img_per_s"]["ignite_fire"] > 0


def test_input_mode_times_plain_draft_and_the_cache(digits_dir: Path) -> None:
    result = bench.input_pipeline(data=str(digits_dir / "val"), image_size=16, batch_size=8, repeats=1, limit=16)
    assert result["images"] == 16
    for key in ("decode_resize", "train_pipeline"):
        assert result[key]["plain"] > 0 and result[key]["draft"] > 0
    assert result["cache"]["later_epochs"] > 0 and result["cache"]["vs_plain"] > 0


def test_command_line_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = ["--model=tiny_cnn", "--image_size=16", "--batch_size=4", "--device=cpu", "--amp=False"]
    args += ["--steps=1", "--warmup=1", "--rounds=1", f"--json_out={out}"]
    command = [sys.executable, "-m", "ignite_fire.bench", "train", *args]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "ignite_fire/plain" in done.stdout
    assert set(json.loads(out.read_text())["median_img_per_s"]) == {"ignite_fire", "plain", "seed"}
