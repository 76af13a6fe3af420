"""End-to-end training runs through the CLI: run directory, checkpoints, results, offline W&B run."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import torch

from tests.conftest import REPO, run_cli, tiny_args


def wandb_summary(run_dir: Path) -> dict:
    """Read an offline W&B run back with W&B's own tool."""
    offline = sorted((run_dir / "wandb").glob("offline-run-*"))
    assert offline, f"no offline W&B run under {run_dir / 'wandb'}"
    out = subprocess.run(
        ["wandb", "leet", "inspect", "--summary", "--json", str(offline[-1])],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def trained(digits_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    result = run_cli(*tiny_args(digits_dir, out, "tiny", "--epochs=3"))
    assert result.returncode == 0, result.stderr
    return out / "tiny"


def test_run_directory_holds_config_checkpoints_results_and_wandb(trained: Path) -> None:
    config = json.loads((trained / "config.json").read_text())
    assert config["epochs"] == 3 and config["classes"] == [str(d) for d in range(10)]
    results = json.loads((trained / "results.json").read_text())
    for key in (
        "best_val_acc",
        "best_epoch",
        "best_checkpoint",
        "epochs_completed",
        "train_samples_per_second",
        "val_macro_f1",
    ):
        assert results[key] is not None, key
    assert 0.0 <= results["best_val_acc"] <= 1.0
    assert results["epochs_completed"] == 3
    assert results["train_samples_per_second"] > 0
    assert (trained / "checkpoints" / "last.pt").is_file()
    assert Path(results["best_checkpoint"]).is_file()
    assert not list(trained.glob("*.png")), "plots=False (tests/tiny_experiment.py) must draw no pictures"


def test_best_checkpoint_is_the_epoch_with_highest_val_acc(trained: Path) -> None:
    history = json.loads((trained / "history.json").read_text())
    results = json.loads((trained / "results.json").read_text())
    accs = [r["val_acc"] for r in history]
    best_epoch = accs.index(max(accs)) + 1
    assert results["best_epoch"] == best_epoch
    assert results["best_val_acc"] == pytest.approx(max(accs))
    assert f"best_checkpoint_{best_epoch}_val_acc=" in Path(results["best_checkpoint"]).name
    checkpoint = torch.load(results["best_checkpoint"], weights_only=True)
    assert checkpoint["classes"] == json.loads((trained / "config.json").read_text())["classes"]
    assert checkpoint["config"]["model"] == "tiny_cnn"
    assert checkpoint["meta"]["epoch"] == best_epoch
    assert checkpoint["meta"]["score"] == pytest.approx(max(accs))
    assert any(k.endswith("weight") for k in checkpoint["model"])


def test_stable_best_pt_is_the_best_checkpoint_and_predict_uses_it(trained: Path) -> None:
    from ignite_fire.predict import find_checkpoint

    results = json.loads((trained / "results.json").read_text())
    best_pt = trained / "checkpoints" / "best.pt"
    assert best_pt.read_bytes() == Path(results["best_checkpoint"]).read_bytes()
    assert find_checkpoint(trained) == best_pt  # predict RUN_DIR uses it


def test_last_checkpoint_loads_with_weights_only(trained: Path) -> None:
    checkpoint = torch.load(trained / "checkpoints" / "last.pt", weights_only=True)
    for key in ("model", "optimizer", "trainer", "best_checkpointer", "rng", "scheduler", "history"):
        assert key in checkpoint, key
    assert checkpoint["trainer"]["iteration"] > 0


def test_offline_wandb_run_holds_the_validation_metrics(trained: Path) -> None:
    summary = wandb_summary(trained)
    results = json.loads((trained / "results.json").read_text())
    history = json.loads((trained / "history.json").read_text())
    values = summary["summary"]
    assert values["val_acc"] == {"max": pytest.approx(max(r["val_acc"] for r in history))}  # summary="max"
    assert values["best_val_acc"] == pytest.approx(results["best_val_acc"])
    assert values["val_loss"] == pytest.approx(history[-1]["val_loss"])
    assert values["val_macro_f1"] == pytest.approx(results["val_macro_f1"])
    assert "train_loss" in values and "learning_rate" in values
    assert summary["config"]["epochs"] == 3
    assert summary["state"] == "finished"
    # The best checkpoint is logged as a model artifact with the alias "best".
    raw = Path(summary["file"]).read_bytes()
    assert b"tiny-model" in raw and b"best_checkpoint_" in raw and b"best" in raw


def test_metrics_csv_has_one_row_per_epoch_with_the_wandb_names(trained: Path) -> None:
    import csv

    rows = list(csv.DictReader((trained / "metrics.csv").open()))
    history = json.loads((trained / "history.json").read_text())
    assert [int(r["epoch"]) for r in rows] == [r["epoch"] for r in history]
    logged = set(wandb_summary(trained)["summary"])
    assert set(rows[0]) - {"step"} <= logged, set(rows[0]) - logged  # step is W&B's own _step
    assert float(rows[-1]["val_loss"]) == pytest.approx(history[-1]["val_loss"])


def test_quickstart_reaches_95_percent(tmp_path: Path) -> None:
    result = run_cli(
        str(REPO / "experiments" / "quickstart.py"),
        f"--data_dir={tmp_path / 'digits'}",
        f"--output_dir={tmp_path / 'runs'}",
        "--name=qs",
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    results = json.loads((tmp_path / "runs" / "qs" / "results.json").read_text())
    assert results["best_val_acc"] >= 0.95


def test_resnet18_baseline_trains_on_houses4(houses4: Path, tmp_path: Path) -> None:
    result = run_cli(
        str(REPO / "experiments" / "resnet18_baseline.py"),
        f"--data_dir={houses4}",
        "--pretrained=False",
        "--image_size=32",
        "--epochs=1",
        "--batch_size=64",
        "--num_workers=2",
        "--name=h4",
        f"--output_dir={tmp_path}",
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    results = json.loads((tmp_path / "h4" / "results.json").read_text())
    assert results["classes"] == ["bathroom", "bedroom", "frontal", "kitchen"]
    assert results["best_val_acc"] > 0.25  # better than chance on 4 balanced classes
