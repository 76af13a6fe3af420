"""Sweeps that really train: tiny linear models on the digits, 1-3 epochs per trial, on the CPU."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from ignite_fire.errors import UserError
from ignite_fire.sweeps.runner import run_sweep, sweep_status
from tests.helpers import CHILD_ENV, HANG_TIMEOUT, HYPERBAND_EXPERIMENT, REPO, SWEEP_EXPERIMENT, run_cli, sweep_command


def load_study(sweep_dir: Path, storage: str | None = None) -> optuna.Study:
    return optuna.load_study(study_name=sweep_dir.name, storage=storage or f"sqlite:///{sweep_dir / 'study.db'}")


@pytest.mark.slow
def test_three_trial_sweep_with_results_table(
    digits_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    args = ["sweep", SWEEP_EXPERIMENT, "--count=3", f"--data_dir={digits_dir}", f"--output_dir={tmp_path}"]
    result = run_cli(*args, "--name=s3")
    assert result.returncode == 0, result.stderr[-3000:]

    sweep_dir = tmp_path / "s3"
    study = load_study(sweep_dir)
    trials = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(trials) == len(study.trials) == 3
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 3
    best = study.best_trial
    assert f"best: trial {best.number}, val_acc {best.value:.4g}" in result.stdout
    assert best.user_attrs["run_dir"] in result.stdout and best.user_attrs["best_checkpoint"] in result.stdout
    assert Path(best.user_attrs["best_checkpoint"]).is_file()
    for trial in trials:  # each trial is a normal run, its W&B run in the sweep's group
        run_dir = Path(trial.user_attrs["run_dir"])
        assert run_dir.parent == sweep_dir
        config = json.loads((run_dir / "config.json").read_text())
        assert config["wandb_group"] == "s3" and config["learning_rate"] == trial.params["learning_rate"]
        assert json.loads((run_dir / "results.json").read_text())["best_score"] == trial.value
        assert list((run_dir / "wandb").glob("offline-run-*"))

    rows = list(csv.DictReader((sweep_dir / "trials.csv").open()))
    assert [int(r["trial"]) for r in rows][0] == best.number  # sorted by the metric, best first
    assert {r["state"] for r in rows} == {"complete"} and len(rows) == 3
    assert (sweep_dir / "trials.png").stat().st_size > 1000

    (sweep_dir / "trials.csv").unlink()
    with caplog.at_level("INFO", logger="ignite_fire"):
        sweep_status(str(sweep_dir))  # what `sweep-status` prints
    assert "sweep s3: 3 trials (3 complete)" in caplog.text and f"best: trial {best.number}" in caplog.text
    assert (sweep_dir / "trials.csv").is_file()


@pytest.mark.slow
def test_two_workers_share_one_journal_storage(digits_dir: Path, tmp_path: Path) -> None:
    journal = tmp_path / "shared" / "sweep.journal"
    args = [
        SWEEP_EXPERIMENT,
        f"--data_dir={digits_dir}",
        f"--output_dir={tmp_path}",
        "--name=w",
        f"--storage={journal}",
        "--wandb_mode=disabled",
    ]
    workers = [
        subprocess.Popen(
            sweep_command(*args, f"--count={n}"), env=CHILD_ENV, cwd=REPO, stdout=subprocess.PIPE, text=True
        )
        for n in (2, 2)
    ]
    outputs = [worker.communicate(timeout=HANG_TIMEOUT)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs

    study = optuna.load_study(
        study_name="w", storage=optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    )
    assert len(study.trials) == 4
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 4
    assert sorted(t.number for t in study.trials) == [0, 1, 2, 3]
    assert len({t.user_attrs["pid"] for t in study.trials}) == 2  # both workers took trials
    run_dirs = {t.user_attrs["run_dir"] for t in study.trials}
    assert len(run_dirs) == 4 and all((Path(d) / "results.json").is_file() for d in run_dirs)


@pytest.mark.slow
def test_killed_sweep_resumes(digits_dir: Path, tmp_path: Path) -> None:
    args = [SWEEP_EXPERIMENT, f"--data_dir={digits_dir}", f"--output_dir={tmp_path}", "--name=k", "--epochs=2"]
    args += ["--wandb_mode=disabled", "--count=2"]
    sweep_dir = tmp_path / "k"
    worker = subprocess.Popen(
        sweep_command(*args), env=CHILD_ENV, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    last = sweep_dir / "trial-001" / "checkpoints" / "last.pt"
    deadline = time.monotonic() + HANG_TIMEOUT
    while not last.exists() and worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(worker.pid, signal.SIGKILL)  # mid-trial: trial 1 has finished epoch 1 of 2
    worker.wait()
    assert last.exists()
    first = load_study(sweep_dir)
    assert [t.state for t in first.trials] == [TrialState.COMPLETE, TrialState.RUNNING]

    result = run_cli("sweep", *args, "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "trial(s) 1 lost their worker process" in result.stdout
    assert "resumed trial-001" in result.stdout  # from its last checkpoint, not from scratch

    study = load_study(sweep_dir)
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(complete) == 2  # the count is reached
    assert study.trials[0].value == first.trials[0].value  # the finished trial is kept
    assert study.trials[1].state == TrialState.FAIL and "error" not in study.trials[1].user_attrs  # interrupted
    rerun = next(t for t in complete if t.user_attrs.get("rerun_of") == 1)
    assert rerun.params == study.trials[1].params and rerun.user_attrs["run_dir"] == str(sweep_dir / "trial-001")
    history = json.loads((sweep_dir / "trial-001" / "history.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2]
    assert "interrupted" in (sweep_dir / "trials.csv").read_text()


@pytest.mark.slow
def test_hyperband_stops_a_clearly_worse_trial_early(digits_dir: Path, tmp_path: Path) -> None:
    overrides = {"data_dir": str(digits_dir), "output_dir": str(tmp_path), "name": "hb"}
    run_sweep(HYPERBAND_EXPERIMENT, {**overrides, "model": "linear"}, count=1)
    run_sweep(HYPERBAND_EXPERIMENT, {**overrides, "model": "blind"}, count=1)  # predicts one class: val_acc 0.1

    study = load_study(tmp_path / "hb")
    good, worse = study.trials
    assert good.state == TrialState.COMPLETE and good.user_attrs["epochs"] == 2
    assert worse.state == TrialState.PRUNED and worse.user_attrs["epochs"] == 1  # stopped after epoch 1 of 2
    assert worse.intermediate_values[1] < good.intermediate_values[1]
    run_dir = Path(worse.user_attrs["run_dir"])
    assert len(json.loads((run_dir / "history.json").read_text())) == 1
    assert json.loads((run_dir / "results.json").read_text())["status"] == "pruned"


@pytest.mark.slow
def test_failed_trials_are_recorded_and_three_in_a_row_stop_the_sweep(digits_dir: Path, tmp_path: Path) -> None:
    overrides = {"data_dir": str(digits_dir), "output_dir": str(tmp_path), "name": "f", "model": "nan", "epochs": 1}
    with pytest.raises(UserError, match="3 trials in a row failed .*NaN"):
        run_sweep(HYPERBAND_EXPERIMENT, overrides, count=5)
    study = load_study(tmp_path / "f")
    assert [t.state for t in study.trials] == [TrialState.FAIL] * 3  # the sweep went on after each failure
    assert all("training loss became NaN" in t.user_attrs["error"] for t in study.trials)
    rows = list(csv.DictReader((tmp_path / "f" / "trials.csv").open()))
    assert [r["state"] for r in rows] == ["failed"] * 3


@pytest.mark.slow
def test_sigterm_to_the_sweep_process_group_interrupts_the_trial(digits_dir: Path, tmp_path: Path) -> None:
    args = [SWEEP_EXPERIMENT, f"--data_dir={digits_dir}", f"--output_dir={tmp_path}", "--name=t", "--epochs=2"]
    args += ["--wandb_mode=disabled", "--count=2", "--num_workers=2"]
    sweep_dir = tmp_path / "t"
    worker = subprocess.Popen(
        sweep_command(*args), env=CHILD_ENV, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    history = sweep_dir / "trial-000" / "history.json"
    deadline = time.monotonic() + HANG_TIMEOUT
    while not history.exists() and worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(worker.pid, signal.SIGTERM)  # as `timeout` and Slurm do: the workers get it too
    stdout, stderr = worker.communicate(timeout=HANG_TIMEOUT)
    assert worker.returncode == 143, stderr
    assert "Traceback" not in stderr, stderr
    study = load_study(sweep_dir)
    assert len(study.trials) == 1  # no new trial started
    assert study.trials[0].state == TrialState.FAIL and "error" not in study.trials[0].user_attrs  # interrupted
    assert (sweep_dir / "trial-000" / "checkpoints" / "last.pt").is_file()

    result = run_cli("sweep", *args, "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resumed trial-000" in result.stdout
    assert len(load_study(sweep_dir).get_trials(states=(TrialState.COMPLETE,))) == 2


def test_status_of_a_folder_without_a_sweep_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"holds no sweep \(no study.db\); pass the sweep directory, or --storage=URL"):
        sweep_status(str(tmp_path / "none"))
    assert not (tmp_path / "none").exists()  # looking does not create the study
