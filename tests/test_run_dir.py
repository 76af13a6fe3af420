"""The run directory: one run at a time per name (stale-safe after kill -9), and nothing left by a failed start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ignite_fire.errors import UserError
from ignite_fire.experiment import load_experiment
from ignite_fire.run_dir import RunDirClaim, find_resume_checkpoint, remove_partial_writes
from ignite_fire.training import train
from tests.helpers import HANG_TIMEOUT, TINY_EXPERIMENT

HOLD = """
import sys, time
from ignite_fire.run_dir import RunDirClaim
claim = RunDirClaim(sys.argv[1], "same", resuming=False)
print("claimed", flush=True)
time.sleep(120)
"""


@pytest.mark.slow
def test_a_second_run_with_the_same_name_refuses_until_the_first_is_killed(tmp_path: Path, digits_dir: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "claimed"
        overrides = {"data_dir": str(digits_dir), "output_dir": str(tmp_path), "name": "same", "epochs": 1}
        with pytest.raises(UserError, match=r"^another run is using .*same right now: wait for it to finish"):
            train(load_experiment(TINY_EXPERIMENT, overrides))
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=HANG_TIMEOUT)
    with RunDirClaim(str(tmp_path), "same", resuming=False) as claim:  # kill -9 left no stale claim
        assert claim.run_dir == tmp_path / "same"


def test_a_released_claim_does_not_block_and_bad_arguments_are_refused(tmp_path: Path) -> None:
    first = RunDirClaim(str(tmp_path), "run", resuming=False)
    first.release()
    first.release()
    RunDirClaim(str(tmp_path), "run", resuming=False).release()
    with pytest.raises(ValueError, match="Argument name should be a non-empty string, got ''"):
        RunDirClaim(str(tmp_path), "", resuming=False)


def test_a_run_that_fails_before_training_leaves_nothing_behind(tmp_path: Path) -> None:
    out = tmp_path / "new" / "runs"
    overrides = {"data_dir": str(tmp_path / "no-such-data"), "output_dir": str(out), "name": "bad", "epochs": 1}
    with pytest.raises(UserError):
        train(load_experiment(TINY_EXPERIMENT, overrides))
    assert not (tmp_path / "new").exists(), "the run directory and the parents it created are removed"

    kept = tmp_path / "kept"
    (kept / "bad").mkdir(parents=True)
    (kept / "bad" / "notes.txt").write_text("mine")
    with pytest.raises(UserError):
        train(load_experiment(TINY_EXPERIMENT, {**overrides, "output_dir": str(kept)}))
    assert (kept / "bad" / "notes.txt").read_text() == "mine", "a directory that held something is kept"


def test_partial_checkpoint_writes_are_removed(tmp_path: Path) -> None:
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    (checkpoints / "tmpa1b2.pt").write_bytes(b"half")
    (checkpoints / "last.pt").write_bytes(b"whole")
    assert remove_partial_writes(tmp_path) == [checkpoints / "tmpa1b2.pt"]
    assert [p.name for p in checkpoints.iterdir()] == ["last.pt"]


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("../../x", "is not one folder name (no /, \\ or NUL): a run stays inside --output_dir"),
        ("/abs", "is not one folder name"),
        ("a\\b", "is not one folder name"),
        ("a\0b", "is not one folder name"),
        (".", "--name='.' is not a run name: give one folder name"),
        ("..", "--name='..' is not a run name"),
        ("x" * 300, "--name is 300 bytes long, more than the 255 this filesystem allows in a file name"),
        ("é" * 128, "--name is 256 bytes long"),  # UTF-8 bytes, not characters, are what the filesystem counts
    ],
)
def test_a_run_name_is_one_folder_inside_output_dir(tmp_path: Path, digits_dir: Path, name: str, fragment: str) -> None:
    output_dir = tmp_path / "runs"
    overrides = {"data_dir": str(digits_dir), "output_dir": str(output_dir), "name": name, "epochs": 1}
    with pytest.raises(UserError) as caught:
        train(load_experiment(TINY_EXPERIMENT, {**overrides, "wandb_mode": "disabled"}))
    assert fragment in str(caught.value) and "\n" not in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "refused before anything was created"


def test_the_longest_name_the_filesystem_takes_is_accepted(tmp_path: Path) -> None:
    from ignite_fire.run_dir import check_run_name, name_max

    limit = name_max(tmp_path / "not" / "yet")  # asks the nearest existing folder's filesystem
    assert limit == os.pathconf(tmp_path, "PC_NAME_MAX")
    claim = RunDirClaim(str(tmp_path), "n" * limit, resuming=False)
    try:
        assert claim.run_dir.is_dir() and claim.run_dir.parent == tmp_path
    finally:
        claim.release()
    with pytest.raises(UserError, match="^--name='' is not a run name"):
        check_run_name("", tmp_path)


def test_resume_finds_the_last_checkpoint_or_says_in_one_line_why_not(tmp_path: Path) -> None:
    assert find_resume_checkpoint(None, str(tmp_path), "r") is None
    with pytest.raises(UserError, match=r"^--resume=auto needs --name=RUN_NAME"):
        find_resume_checkpoint("auto", str(tmp_path), None)
    with pytest.raises(UserError, match=r"^--resume=auto found no checkpoint at .*last.pt; start without"):
        find_resume_checkpoint("auto", str(tmp_path), "r")
    last = tmp_path / "r" / "checkpoints" / "last.pt"
    last.parent.mkdir(parents=True)
    last.write_bytes(b"a checkpoint")
    assert find_resume_checkpoint("auto", str(tmp_path), "r") == last
    assert find_resume_checkpoint(str(tmp_path / "r"), "elsewhere", None) == last  # a run directory
    with pytest.raises(UserError, match=r"^--resume=.*nope.pt: no checkpoint at "):
        find_resume_checkpoint(str(tmp_path / "nope.pt"), str(tmp_path), "r")
