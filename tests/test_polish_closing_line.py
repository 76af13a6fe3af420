"""The run's epoch lines and last line name the metric that picks the checkpoint (issue 21, item 4)."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import pytest

from ignite_fire.commands.train import train as cli_train
from ignite_fire.training import closing_text, epoch_log_names
from tests.helpers import TINY_EXPERIMENT


def test_the_closing_line_leads_with_the_checkpoint_metric() -> None:
    results = {"checkpoint_metric": "val_score", "best_score": 2.62, "best_epoch": 2, "best_val_acc": 0.625}
    expected = "done: best val_score 2.62 at epoch 2 (val_acc 0.625); run directory r"
    assert closing_text({**results, "run_dir": "r"}) == expected
    acc = {"checkpoint_metric": "val_acc", "best_score": 0.5, "best_epoch": 1, "best_val_acc": 0.5, "run_dir": "r"}
    assert closing_text(acc) == "done: best val_acc 0.5 at epoch 1; run directory r"
    assert closing_text({"best_score": None, "run_dir": "r"}) == "done: no validation; run directory r"
    assert "val_score" in epoch_log_names("val_score") and "val_f1/3" in epoch_log_names("val_f1/3")
    assert epoch_log_names("val_loss").count("val_loss") == 1


@pytest.mark.slow
def test_a_val_score_run_reports_its_best_val_score_epoch(
    digits_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    caplog.set_level(logging.INFO, logger="ignite_fire")
    out = tmp_path / "runs"
    cli_train(
        str(TINY_EXPERIMENT), data_dir=str(digits_dir), output_dir=str(out), name="score", epochs=3,
        checkpoint_metric="val_score", loggers="csv",
    )
    history = json.loads((out / "score" / "history.json").read_text())
    best = max(history, key=lambda r: r["val_score"])  # Checkpoint keeps the first of tied scores
    best = next(r for r in history if r["val_score"] == best["val_score"])
    expected = f"best val_score {best['val_score']:.4g} at epoch {best['epoch']} (val_acc {best['val_acc']:.4g})"
    assert f"done: {expected};" in caplog.text
    messages = [r.getMessage() for r in caplog.records]
    epoch_lines = [m for m in messages if m.startswith("epoch ") and " train_loss " in m]  # not the progress lines
    assert len(epoch_lines) == 3 and all(" val_score " in line for line in epoch_lines)
