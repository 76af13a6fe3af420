"""The cv command: all folds in one command, resume that skips finished folds, cv.json and its table, W&B."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ignite_fire.competition.crossval import cross_validate as cv
from ignite_fire.competition.crossval import cv_table, log_wandb_summary
from ignite_fire.config import DEFAULTS, RunConfig
from ignite_fire.errors import UserError
from ignite_fire.loggers.wandb import finish, start_wandb
from tests.helpers import HANG_TIMEOUT, TINY_EXPERIMENT


@pytest.mark.slow
def test_resume_skips_finished_folds_and_finishes_the_rest(tiny_cv) -> None:
    before, after = tiny_cv.fold0_checkpoint_times
    assert before == after  # fold 0 (finished by the first command) was not trained again
    for k in range(2):
        results = json.loads((tiny_cv.cv_dir / f"fold{k}" / "results.json").read_text(encoding="utf-8"))
        assert results["status"] == "finished" and results["best_checkpoint"]


@pytest.mark.slow
def test_cv_json_has_per_fold_mean_pooled_and_decision_gains(tiny_cv) -> None:
    summary = json.loads((tiny_cv.cv_dir / "cv.json").read_text(encoding="utf-8"))
    assert summary["folds"] == 2 and [r["fold"] for r in summary["per_fold"]] == [0, 1]
    for metric in ("val_acc", "val_macro_f1", "val_score"):
        values = [r[metric] for r in summary["per_fold"]]
        assert summary["mean"][metric] == pytest.approx(sum(values) / 2)
        assert 0 <= summary["oof"][metric] <= 10
    assert summary["oof_images"] == 400
    decision = summary["decision"]
    assert {"in_sample_gain", "cross_fitted_gain", "kind"} <= set(decision)
    assert decision["in_sample_gain"] >= 0  # tuned on these very predictions: never worse in-sample
    table = cv_table(summary)
    assert "pooled OOF" in table and "cross-fitted gain" in table and "fold 1" in table


def test_cv_argument_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="--folds must be an integer >= 2"):
        cv(str(TINY_EXPERIMENT), folds=1)
    with pytest.raises(UserError, match="need --name=NAME"):
        cv(str(TINY_EXPERIMENT), folds=2, resume="auto")
    with pytest.raises(UserError, match="cv takes --resume=auto"):
        cv(str(TINY_EXPERIMENT), folds=2, name="x", resume="runs/x/last.pt")
    with pytest.raises(UserError, match="--fold must be an integer in 0..1"):
        cv(str(TINY_EXPERIMENT), folds=2, fold=2, name="x")
    with pytest.raises(UserError, match="--decision_metric='val_loss' is not a score"):
        cv(str(TINY_EXPERIMENT), folds=2, decision_metric="val_loss")


@pytest.mark.slow
def test_resume_continues_an_unfinished_fold(digits_dir: Path, tmp_path: Path) -> None:
    options = {"data_dir": str(digits_dir), "output_dir": str(tmp_path), "name": "cut", "epochs": 2}
    options["wandb_mode"] = "disabled"
    cv(str(TINY_EXPERIMENT), folds=2, fold=0, stop_after_epoch=1, **options)  # pre-empted after epoch 1
    fold0 = tmp_path / "cut" / "fold0"
    assert json.loads((fold0 / "results.json").read_text(encoding="utf-8"))["status"] == "stopped"
    with pytest.raises(UserError, match="pass --resume=auto"):
        cv(str(TINY_EXPERIMENT), folds=2, fold=0, **options)
    cv(str(TINY_EXPERIMENT), folds=2, fold=0, resume="auto", **options)
    results = json.loads((fold0 / "results.json").read_text(encoding="utf-8"))
    history = json.loads((fold0 / "history.json").read_text(encoding="utf-8"))
    assert results["status"] == "finished" and [r["epoch"] for r in history] == [1, 2]
    assert not (tmp_path / "cut" / "oof.csv").exists()  # fold 1 has not run yet


def offline_run_records(wandb_dir: Path) -> str:
    """The records of the offline W&B run under ``wandb_dir``, read back with W&B's own tool."""
    run = sorted(wandb_dir.glob("offline-run-*"))[-1]
    command = ["wandb", "leet", "inspect", "--json", str(run)]
    return subprocess.run(command, capture_output=True, text=True, timeout=HANG_TIMEOUT, check=True).stdout


@pytest.mark.slow
def test_the_folds_and_the_cv_summary_share_a_wandb_group(tiny_cv, tmp_path: Path) -> None:
    summary = json.loads((tiny_cv.cv_dir / "cv.json").read_text(encoding="utf-8"))
    cv_dir = tmp_path / "mycv"
    cv_dir.mkdir()
    config = {**DEFAULTS, "wandb_mode": "offline", "wandb_project": "ignite_fire-tests"}
    log_wandb_summary(RunConfig.from_dict(config).bookkeeping, cv_dir, summary)
    records = offline_run_records(cv_dir / "wandb")
    assert '"job_type":"cv"' in records and '"run_group":"mycv"' in records
    table = json.loads(next((cv_dir / "wandb").rglob("folds_*.table.json")).read_text(encoding="utf-8"))
    assert [row[0] for row in table["data"]] == [0, 1] and table["columns"][0] == "fold"
    fold_config = {**config, "wandb_group": "mycv", "wandb_job_type": "fold"}
    fold_logger = start_wandb(
        fold_config, RunConfig.from_dict(fold_config).bookkeeping, tmp_path / "fold0", "fold0", None
    )
    assert (fold_logger.run.group, fold_logger.run.job_type) == ("mycv", "fold")
    finish(fold_logger, {})
