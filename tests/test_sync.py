"""`sync RUN_DIR`: a resumed offline run's W&B folders go up in order, into one run id, with disjoint steps."""

from __future__ import annotations

import json
import logging
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ignite_fire.cli import main
from ignite_fire.errors import UserError
from ignite_fire.experiment import load_experiment
from ignite_fire.sync import offline_runs, sync_commands, upload_run, wandb_appends
from ignite_fire.training import train
from tests.helpers import TINY_EXPERIMENT

WANDB = [shutil.which("wandb") or sys.executable, *([] if shutil.which("wandb") else ["-m", "wandb"])]


@pytest.fixture(scope="module")
def resumed(digits_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real offline run stopped after epoch 1 of 2 and resumed: two offline-run-* folders."""
    out = tmp_path_factory.mktemp("sync")
    overrides = {"data_dir": str(digits_dir), "output_dir": str(out), "name": "r", "epochs": 2}
    overrides |= {"wandb_mode": "offline", "loggers": ["wandb"]}
    assert train(load_experiment(TINY_EXPERIMENT, {**overrides, "stop_after_epoch": 1}))["status"] == "stopped"
    time.sleep(1.1)  # W&B names offline folders by the second: a resume in the same second shares the folder
    assert train(load_experiment(TINY_EXPERIMENT, {**overrides, "resume": "auto"}))["status"] == "finished"
    return out / "r"


def logged_steps(folder: Path) -> list[int]:
    """The W&B steps of the history records in ``folder``'s .wandb file, read with W&B's own tool."""
    (wandb_file,) = folder.glob("*.wandb")
    out = subprocess.run([*WANDB, "leet", "inspect", "--json", str(wandb_file)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    return [int(r["history"]["item"]["_step"]) for r in records if r.get("type") == "history"]


@pytest.mark.slow
def test_resumed_run_syncs_in_order_into_one_id(resumed: Path, capsys: pytest.CaptureFixture) -> None:
    runs = offline_runs(resumed)
    assert len(runs) == 2 and runs[0].start < runs[1].start  # the first start, then the resume
    assert runs[0].run_id == runs[1].run_id
    first, second = logged_steps(runs[0].path), logged_steps(runs[1].path)
    assert first and second and max(first) < min(second), (first, second)  # disjoint: appending loses nothing

    # wandb < 0.30: the first folder as it is, the later one appended to the same id.
    assert sync_commands(runs, append=True) == [
        ["wandb", "sync", str(runs[0].path)],
        ["wandb", "sync", "--id", runs[0].run_id, "--append", str(runs[1].path)],
    ]
    # wandb >= 0.30: one command; its sync uploads the files of one id in order of start time.
    assert sync_commands(runs, append=False) == [["wandb", "sync", str(runs[0].path), str(runs[1].path)]]

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        main(["sync", str(resumed), "--dry_run"])
    finally:
        root.handlers[:], root.level = handlers, level
    printed = capsys.readouterr().out.strip().splitlines()
    expected = sync_commands(runs, wandb_appends())
    assert printed == [shlex.join(command) for command in expected]

    # The installed wandb accepts the command (its own --dry-run lists both files, uploads nothing).
    if not wandb_appends():
        (command,) = expected
        check = subprocess.run([*WANDB, "sync", "--dry-run", *command[2:]], capture_output=True, text=True)
        assert check.returncode == 0 and "Would sync 2 run(s)" in check.stdout + check.stderr, check.stderr


def test_a_run_without_offline_wandb_runs(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no offline W&B runs in"):
        upload_run(str(tmp_path))
    with pytest.raises(UserError, match="run directory not found"):
        upload_run(str(tmp_path / "nope"))
