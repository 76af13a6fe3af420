"""Two processes with gloo on the CPU (``--nproc_per_node=2``): one run directory, one set of checkpoints,
and validation metrics equal to one process's over the whole validation set."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import ignite.distributed as idist
import pytest
import torch

from ignite_fire import distributed
from ignite_fire.data.loaders import ShardSampler
from ignite_fire.errors import UserError
from tests.helpers import one_process_metrics, run_cli, tiny_args


@pytest.fixture(scope="module")
def two_processes(
    digits_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, subprocess.CompletedProcess]:
    """One short epoch in 2 processes; the memory cache is on, so the processes also share the decoding."""
    out = tmp_path_factory.mktemp("dist")
    args = ("--epochs=1", "--nproc_per_node=2", "--cache=memory", "--graph=False", "--gallery_every=0")
    result = run_cli(*tiny_args(digits_dir, out, "dist", *args))
    assert result.returncode == 0, result.stderr[-3000:]
    return out / "dist", result


@pytest.mark.slow
def test_one_results_file_one_set_of_checkpoints_one_log(two_processes) -> None:
    run_dir, result = two_processes
    assert "starting 2 processes (gloo)" in result.stdout
    assert "x 2 processes" in result.stdout  # the memory cache was decoded by both processes
    assert result.stdout.count("epoch 1/1  train_loss") == 1  # only rank 0 logs (its epoch line)
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "finished" and results["epochs_completed"] == 1
    assert sorted(p.name for p in run_dir.parent.iterdir()) == ["dist"]
    checkpoints = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert len(checkpoints) == 3 and checkpoints[0] == "best.pt" and checkpoints[2] == "last.pt"
    assert checkpoints[1].startswith("best_checkpoint_1_val_acc=")
    history = json.loads((run_dir / "history.json").read_text())
    assert len(history) == 1 and history[0]["iteration"] == 20  # 320 images / global batch 16
    assert len(list((run_dir / "wandb").glob("offline-run-*"))) == 1  # one W&B run, from rank 0


@pytest.mark.slow
def test_validation_metrics_equal_one_process_over_the_whole_validation_set(two_processes, digits_dir: Path) -> None:
    run_dir, _ = two_processes
    record = json.loads((run_dir / "history.json").read_text())[0]
    metrics, val_size = one_process_metrics(run_dir, digits_dir)
    assert val_size == 80
    assert metrics["val_acc"] == record["val_acc"]
    assert metrics["val_loss"] == pytest.approx(record["val_loss"], rel=1e-5)
    for name in ("val_macro_f1", "val_score", *(k for k in metrics if k.startswith("val_recall/"))):
        assert metrics[name] == pytest.approx(record[name], abs=1e-9), name


def test_shard_sampler_gives_every_index_to_exactly_one_process() -> None:
    shards = [list(ShardSampler(11, rank, 3)) for rank in range(3)]
    assert sorted(sum(shards, [])) == list(range(11))
    assert [len(ShardSampler(11, rank, 3)) for rank in range(3)] == [4, 4, 3]
    with pytest.raises(ValueError, match="rank 3 is not in"):
        ShardSampler(11, 3, 3)


def test_the_global_batch_size_must_divide_between_the_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    assert distributed.process_batch_size(30) == 30
    monkeypatch.setattr(idist, "get_world_size", lambda: 4)
    assert distributed.process_batch_size(32) == 8
    with pytest.raises(UserError, match="global batch over 4 processes: make it a multiple of 4"):
        distributed.process_batch_size(30)


def test_one_process_leaves_everything_as_it_is() -> None:
    model = torch.nn.Linear(2, 2)
    assert distributed.distributed_model(model, torch.device("cpu")) is model
    assert distributed.same_on_all_ranks("run-1") == "run-1"
    assert distributed.process_device(torch.device("cpu")) == torch.device("cpu")
    assert not distributed.wants_processes(1)
    assert distributed.wants_processes(2)
