"""TrainStats: running averages read on the host every log_every iterations, and the NaN/Inf guard."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from ignite.engine import Engine

from ignite_fire.handlers.train_stats import NonFiniteLossError, TrainStats
from tests.helpers import run_cli, tiny_args


def output(loss: float, correct: int, count: int) -> dict:
    loss_t = torch.tensor(loss)
    return {"loss": loss_t, "correct": torch.tensor(correct), "count": count, "nonfinite": ~torch.isfinite(loss_t)}


def test_running_means_are_sample_weighted() -> None:
    outputs = iter([output(1.0, 2, 4), output(3.0, 4, 4), output(2.0, 0, 2)])
    engine = Engine(lambda e, b: next(outputs))
    TrainStats(log_every=2).attach(engine)
    engine.run([0, 1, 2], max_epochs=1)
    assert engine.state.metrics["train_loss"] == pytest.approx((1 * 4 + 3 * 4 + 2 * 2) / 10)
    assert engine.state.metrics["train_acc"] == pytest.approx(6 / 10)


def test_nan_loss_stops_with_epoch_and_iterations() -> None:
    outputs = iter([output(1.0, 1, 4), output(float("nan"), 1, 4), output(1.0, 1, 4)])
    engine = Engine(lambda e, b: next(outputs))
    TrainStats(log_every=3).attach(engine)
    with pytest.raises(NonFiniteLossError, match="epoch 1, iterations 1-3"):
        engine.run([0, 1, 2], max_epochs=1)


def test_log_every_is_validated() -> None:
    with pytest.raises(ValueError, match="Argument log_every should be a positive integer, got 0"):
        TrainStats(log_every=0)


@pytest.mark.slow
def test_exploding_learning_rate_stops_training_and_keeps_the_last_good_checkpoint(
    digits_dir: Path, tmp_path: Path
) -> None:
    # Epoch 1 trains normally; then StepLR multiplies the learning rate by 1e12 and the loss diverges.
    result = run_cli(
        *tiny_args(
            digits_dir,
            tmp_path,
            "nan",
            "--epochs=3",
            "--optimizer=SGD",
            "--learning_rate=0.05",
            "--scheduler=StepLR",
            "--scheduler_interval=epoch",
            "--step_size=1",
            "--step_gamma=1e12",
        )
    )
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    match = re.search(r"NaN/Inf in epoch (\d+), iterations \d+-\d+, lr ([0-9.e+]+)", lines[0])
    assert match, lines[0]
    bad_epoch, lr = int(match.group(1)), float(match.group(2))
    assert bad_epoch >= 2 and lr >= 1e10
    last = torch.load(tmp_path / "nan" / "checkpoints" / "last.pt", weights_only=True)
    assert last["trainer"]["iteration"] == (bad_epoch - 1) * last["trainer"]["epoch_length"]  # the previous epoch's
    assert json.loads((tmp_path / "nan" / "results.json").read_text())["status"] == "failed"
