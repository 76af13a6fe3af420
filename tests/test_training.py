"""End-to-end training runs through the CLI: run directory, checkpoints, results, offline W&B run."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import pytest
import torch

from tests.helpers import REPO, TINY_EXPERIMENT, run_cli, tiny_args, wandb_summary


@pytest.fixture(scope="module")
def trained(digits_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    result = run_cli(*tiny_args(digits_dir, out, "tiny", "--epochs=3"))
    assert result.returncode == 0, result.stderr
    return out / "tiny"


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_stable_best_pt_is_the_best_checkpoint_and_predict_uses_it(trained: Path) -> None:
    from ignite_fire.inference.predict import find_checkpoint

    results = json.loads((trained / "results.json").read_text())
    best_pt = trained / "checkpoints" / "best.pt"
    assert best_pt.read_bytes() == Path(results["best_checkpoint"]).read_bytes()
    assert find_checkpoint(trained) == best_pt  # predict RUN_DIR uses it


@pytest.mark.slow
def test_last_checkpoint_loads_with_weights_only(trained: Path) -> None:
    checkpoint = torch.load(trained / "checkpoints" / "last.pt", weights_only=True)
    for key in ("model", "optimizer", "trainer", "best_checkpointer", "rng", "scheduler", "history"):
        assert key in checkpoint, key
    assert checkpoint["trainer"]["iteration"] > 0


@pytest.mark.slow
def test_offline_wandb_run_holds_the_validation_metrics(trained: Path) -> None:
    summary = wandb_summary(trained)
    results = json.loads((trained / "results.json").read_text())
    history = json.loads((trained / "history.json").read_text())
    values = summary["summary"]
    assert values["val_acc"] == {"max": pytest.approx(max(r["val_acc"] for r in history))}  # summary="max"
    assert values["best_val_acc"] == pytest.approx(results["best_val_acc"])
    assert values["val_loss"] == pytest.approx(history[-1]["val_loss"])
    # W&B's summary keeps the last epoch's value; results.json the best epoch's (they differ when the best is earlier)
    assert values["val_macro_f1"] == pytest.approx(history[-1]["val_macro_f1"])
    assert "train_loss" in values and "learning_rate" in values
    assert summary["config"]["epochs"] == 3
    assert summary["state"] == "finished"
    # The best checkpoint is logged as a model artifact with the alias "best".
    raw = Path(summary["file"]).read_bytes()
    assert b"tiny-model" in raw and b"best_checkpoint_" in raw and b"best" in raw


@pytest.mark.slow
def test_metrics_csv_has_one_row_per_epoch_with_the_wandb_names(trained: Path) -> None:
    import csv

    rows = list(csv.DictReader((trained / "metrics.csv").open()))
    history = json.loads((trained / "history.json").read_text())
    assert [int(r["epoch"]) for r in rows] == [r["epoch"] for r in history]
    logged = set(wandb_summary(trained)["summary"])
    assert set(rows[0]) - {"step"} <= logged, set(rows[0]) - logged  # step is W&B's own _step
    assert float(rows[-1]["val_loss"]) == pytest.approx(history[-1]["val_loss"])


@pytest.mark.slow
def test_quickstart_reaches_95_percent(tmp_path: Path) -> None:
    """The README's claim, in this process (no subprocess limit a busy machine could reach), with its own config."""
    overrides = {"data_dir": str(tmp_path / "digits"), "output_dir": str(tmp_path / "runs"), "name": "qs"}
    experiment = load_experiment(REPO / "experiments" / "quickstart.py", {**overrides, "wandb_mode": "disabled"})
    results = train(experiment)
    assert results["status"] == "finished" and results["epochs_completed"] == experiment.config["epochs"] == 8
    assert json.loads((tmp_path / "runs" / "qs" / "results.json").read_text())["best_val_acc"] >= 0.95


@pytest.mark.slow
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
    )
    assert result.returncode == 0, result.stderr
    results = json.loads((tmp_path / "h4" / "results.json").read_text())
    assert results["classes"] == ["bathroom", "bedroom", "frontal", "kitchen"]
    assert results["best_val_acc"] > 0.25  # better than chance on 4 balanced classes


# --- The builders, in-process on the digits fixture -------------------------------------------------------------

from ignite.engine import Events  # noqa: E402
from ignite.handlers import Checkpoint, EarlyStopping  # noqa: E402

from ignite_fire.commands.train import train as cli_train  # noqa: E402
from ignite_fire.errors import UserError  # noqa: E402
from ignite_fire.experiment import load_experiment  # noqa: E402
from ignite_fire.handlers.progress_log import ProgressLog  # noqa: E402
from ignite_fire.handlers.scheduler_step import SchedulerStep  # noqa: E402
from ignite_fire.handlers.stop_at import StopAt  # noqa: E402
from ignite_fire.handlers.train_stats import TrainStats  # noqa: E402
from ignite_fire.training import (  # noqa: E402
    END_OF_EPOCH_ORDER,
    build_run,
    create_checkpointers,
    create_engines,
    get_dataflow,
    initialize,
    results_of,
    train,
)

NO_BN_EXPERIMENT = '''
from torch import nn
from tests.tiny_experiment import config

def build_model(config, num_classes):  # no BatchNorm: with a tiny learning rate every epoch scores the same
    return nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, num_classes)
    )
'''


def tiny(digits_dir: Path, out: Path, **overrides):
    values = {"data_dir": str(digits_dir), "output_dir": str(out), "name": "tiny", "epochs": 1, **overrides}
    return load_experiment(TINY_EXPERIMENT, values)


def test_each_builder_returns_plain_objects(digits_dir: Path, tmp_path: Path) -> None:
    experiment = tiny(digits_dir, tmp_path, ema_decay=0.9, patience=2)
    settings = experiment.settings
    device = torch.device("cpu")
    dataflow = get_dataflow(experiment, settings, device)
    assert dataflow.classes == [str(d) for d in range(10)]
    assert sum(dataflow.class_counts) == len(dataflow.train_loader.dataset)
    assert dataflow.train_loader.batch_size == 16
    model, loss_fn, optimizer, scheduler = initialize(
        experiment, experiment.config, dataflow.classes, dataflow.class_counts, device, len(dataflow.train_loader),
        False,
    )
    assert model(torch.zeros(2, 3, 16, 16)).shape == (2, 10)
    assert optimizer.param_groups[0]["lr"] == 0.01 and scheduler is not None
    engines = create_engines(model, loss_fn, optimizer, device, dataflow.classes, settings)
    assert engines.ema is not None and engines.eval_model is engines.ema.ema_model
    checkpointers = create_checkpointers(
        {"model": model}, engines, dataflow.classes, experiment.config, settings, tmp_path / "checkpoints"
    )
    assert isinstance(checkpointers.early_stopping, EarlyStopping)
    assert {"model", "best_checkpointer", "ema_model", "early_stopping"} <= set(checkpointers.to_save)
    assert checkpointers.stop_at.on_stop is checkpointers.last


def test_bad_handler_arguments_are_refused_before_a_run_directory_exists(digits_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"--ema_decay=1.5 is out of range"):
        build_run(tiny(digits_dir, tmp_path, ema_decay=1.5))
    assert not (tmp_path / "tiny").exists(), "a run that fails before training leaves no run directory"


@pytest.mark.slow
def test_end_of_epoch_handlers_fire_in_the_listed_order(
    digits_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fired: list[str] = []

    def record(cls: type, method: str, name) -> None:
        original = getattr(cls, method)

        def wrapper(self, engine, *args):
            label = name(self, engine) if callable(name) else name
            if label:
                fired.append(label)
            return original(self, engine, *args)

        monkeypatch.setattr(cls, method, wrapper)

    record(TrainStats, "read", lambda _, e: "train_stats" if e.last_event_name == Events.EPOCH_COMPLETED else None)
    record(Checkpoint, "__call__", lambda c, _: "best_checkpoint" if c.filename_prefix == "best" else "last_checkpoint")
    record(EarlyStopping, "__call__", "early_stopping")
    record(SchedulerStep, "__call__", "scheduler")
    record(StopAt, "_stop", "stop_at")
    record(ProgressLog, "write", lambda _, e: "progress" if e.last_event_name == Events.EPOCH_COMPLETED else None)

    def attach(run) -> None:
        run.evaluator.add_event_handler(Events.STARTED, lambda _: fired.append("validation"))
        run.trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda _: fired.append("attached later"))

    overrides = {"epochs": 2, "patience": 3, "scheduler_interval": "epoch", "stop_after_epoch": 1}
    results = train(tiny(digits_dir, tmp_path, **overrides), attach=attach)
    assert results["status"] == "stopped"
    assert fired == [*END_OF_EPOCH_ORDER, "attached later"]


def test_results_name_the_last_checkpoint_only_once_it_exists(digits_dir: Path, tmp_path: Path) -> None:
    leftover = tmp_path / "tiny" / "checkpoints" / "tmpk3x_last.pt"  # a killed first checkpoint write
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half")
    run = build_run(tiny(digits_dir, tmp_path))
    try:
        assert not leftover.exists(), "a fresh run with a reused name removes a killed write's tmp file"
        results = results_of(run, "failed")
        assert results["last_checkpoint"] is None and results["best_epoch"] is None
    finally:
        run.claim.release()


@pytest.mark.slow
def test_tied_scores_agree_on_the_kept_best_epoch(
    digits_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    experiment_file = tmp_path / "no_bn.py"
    experiment_file.write_text(NO_BN_EXPERIMENT)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")  # the wandb tool
    caplog.set_level(logging.INFO, logger="ignite_fire")
    cli_train(
        str(experiment_file),
        data_dir=str(digits_dir),
        output_dir=str(tmp_path / "runs"),
        name="tie",
        epochs=2,
        learning_rate=1e-12,
        scheduler=None,
        n_saved=2,
    )
    run_dir = tmp_path / "runs" / "tie"
    history = json.loads((run_dir / "history.json").read_text())
    assert history[0]["val_acc"] == history[1]["val_acc"], "the scores must tie for this test"
    results = json.loads((run_dir / "results.json").read_text())
    epoch = results["best_epoch"]
    assert f"best_checkpoint_{epoch}_" in Path(results["best_checkpoint"]).name
    assert torch.load(results["best_checkpoint"], weights_only=True)["meta"]["epoch"] == epoch
    assert results["best_val_acc"] == history[epoch - 1]["val_acc"]
    assert f"at epoch {epoch};" in caplog.text
    summary = wandb_summary(run_dir)["summary"]
    assert summary["best_epoch"] == epoch and summary["best_val_acc"] == pytest.approx(results["best_val_acc"])
