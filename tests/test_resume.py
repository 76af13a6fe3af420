"""Exact resume: a run stopped and resumed ends with the same weights as one that never stopped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.helpers import run_cli, tiny_args, wandb_summary

pytestmark = pytest.mark.slow  # every test here trains through the CLI, in a subprocess


def final_state(run_dir: Path) -> tuple[dict, dict]:
    last = torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)
    results = json.loads((run_dir / "results.json").read_text())
    return last, results


def assert_same_run(a: Path, b: Path) -> None:
    last_a, results_a = final_state(a)
    last_b, results_b = final_state(b)
    assert last_a["trainer"]["iteration"] == last_b["trainer"]["iteration"]
    for key, tensor in last_a["model"].items():
        assert torch.equal(tensor, last_b["model"][key]), f"{key} differs after resume"
    for key in ("best_epoch", "best_score", "best_val_acc", "epochs_completed"):
        assert results_a[key] == results_b[key], key
    assert Path(results_a["best_checkpoint"]).name == Path(results_b["best_checkpoint"]).name
    best_a = torch.load(results_a["best_checkpoint"], weights_only=True)["model"]
    best_b = torch.load(results_b["best_checkpoint"], weights_only=True)["model"]
    assert all(torch.equal(best_a[k], best_b[k]) for k in best_a)


@pytest.fixture(scope="module")
def uninterrupted(digits_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("straight")
    result = run_cli(*tiny_args(digits_dir, out, "straight", "--epochs=4", "--n_saved=2"))
    assert result.returncode == 0, result.stderr
    return out / "straight"


def test_resume_after_epoch_gives_identical_weights(uninterrupted: Path, digits_dir: Path, tmp_path: Path) -> None:
    first = run_cli(*tiny_args(digits_dir, tmp_path, "paused", "--epochs=4", "--n_saved=2", "--stop_after_epoch=2"))
    assert first.returncode == 0, first.stderr
    assert json.loads((tmp_path / "paused" / "results.json").read_text())["status"] == "stopped"
    assert torch.load(tmp_path / "paused" / "checkpoints" / "last.pt", weights_only=True)["trainer"]["iteration"] > 0
    second = run_cli(*tiny_args(digits_dir, tmp_path, "paused", "--epochs=4", "--n_saved=2", "--resume=auto"))
    assert second.returncode == 0, second.stderr
    assert "resumed paused" in second.stdout
    assert_same_run(uninterrupted, tmp_path / "paused")
    # n_saved pruning continued across the resume: never more than 2 best checkpoints.
    assert len(list((tmp_path / "paused" / "checkpoints").glob("best_*.pt"))) <= 2


def test_resume_mid_epoch_gives_identical_weights(uninterrupted: Path, digits_dir: Path, tmp_path: Path) -> None:
    epoch_length = torch.load(uninterrupted / "checkpoints" / "last.pt", weights_only=True)["trainer"]["epoch_length"]
    stop = 2 * epoch_length + epoch_length // 2  # the middle of epoch 3
    first = run_cli(
        *tiny_args(digits_dir, tmp_path, "mid", "--epochs=4", "--n_saved=2", f"--stop_after_iteration={stop}")
    )
    assert first.returncode == 0, first.stderr
    assert torch.load(tmp_path / "mid" / "checkpoints" / "last.pt", weights_only=True)["trainer"]["iteration"] == stop
    second = run_cli(
        *tiny_args(digits_dir, tmp_path, "mid", "--epochs=4", "--n_saved=2", f"--resume={tmp_path / 'mid'}")
    )
    assert second.returncode == 0, second.stderr
    assert_same_run(uninterrupted, tmp_path / "mid")


def test_resuming_a_finished_run_says_so(uninterrupted: Path, digits_dir: Path) -> None:
    out = uninterrupted.parent
    result = run_cli(*tiny_args(digits_dir, out, "straight", "--epochs=4", "--n_saved=2", "--resume=auto"))
    assert result.returncode == 0, result.stderr
    assert "already finished" in result.stdout


def test_wandb_run_continues_with_the_same_id(uninterrupted: Path, digits_dir: Path, tmp_path: Path) -> None:
    run_cli(*tiny_args(digits_dir, tmp_path, "w", "--epochs=2", "--stop_after_epoch=1"))
    run_cli(*tiny_args(digits_dir, tmp_path, "w", "--epochs=2", "--resume=auto"))
    offline = sorted((tmp_path / "w" / "wandb").glob("offline-run-*"))
    assert len(offline) == 2
    ids = {p.name.rsplit("-", 1)[1] for p in offline}
    assert len(ids) == 1, f"the resumed W&B run has a new id: {ids}"
    summary = wandb_summary(tmp_path / "w")
    assert summary["summary"]["epoch"] == 2
