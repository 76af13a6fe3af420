"""SIGTERM saves a loadable last checkpoint; SIGKILL during checkpoint writes never leaves a truncated file."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.helpers import HANG_TIMEOUT, REPO, TINY_EXPERIMENT, start_training, wait_for


@pytest.mark.slow
def test_sigterm_saves_last_checkpoint_and_exits_143(digits_dir: Path, tmp_path: Path) -> None:
    process = start_training(digits_dir, tmp_path, "term", "--epochs=200")
    wait_for(tmp_path / "term" / "history.json", process)  # one epoch done, training goes on
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=HANG_TIMEOUT)
    assert process.returncode == 143, stderr
    last = torch.load(tmp_path / "term" / "checkpoints" / "last.pt", weights_only=True)
    assert last["trainer"]["iteration"] > 0
    results = json.loads((tmp_path / "term" / "results.json").read_text())
    assert results["status"] == "interrupted"
    assert "--resume=auto --name=term" in stdout
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_sigkill_during_checkpoint_writes_leaves_no_truncated_file(tmp_path: Path) -> None:
    code = (
        f"import sys; sys.path.insert(0, {str(REPO)!r}); "
        "from tests.handlers.checkpoint_writer import write_checkpoints_forever; "
        f"write_checkpoints_forever({str(tmp_path)!r})"
    )
    # Writes run back to back, so a kill at any of these offsets lands in the middle of one.
    for rounds, delay in ((1, 0.0), (2, 0.05), (3, 0.13), (4, 0.21), (5, 0.34)):
        process = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        for _ in range(rounds):
            assert process.stdout.readline(), "the checkpoint writer died"
        time.sleep(delay)
        process.kill()
        process.wait()
        process.stdout.close()
        files = sorted(tmp_path.glob("*.pt"))
        assert "last.pt" in {f.name for f in files}
        assert len([f for f in files if f.name.startswith("checkpoint")]) >= 1
        for path in files:
            state = torch.load(path, weights_only=True)  # a truncated file would raise here
            assert state["big"]["payload"].numel() == 2_000_000


def _signal_group_during_training(digits_dir: Path, out: Path, name: str, signum: int) -> tuple[int, str, str]:
    """Train with 2 DataLoader workers in a new session, then signal the whole process group."""
    args = [sys.executable, "-m", "ignite_fire", str(TINY_EXPERIMENT), f"--data_dir={digits_dir}"]
    args += [f"--output_dir={out}", f"--name={name}", "--epochs=200", "--num_workers=2"]
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    process = subprocess.Popen(
        args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    wait_for(out / name / "history.json", process)  # one epoch done: workers are loading the next one
    time.sleep(0.3)
    os.killpg(process.pid, signum)  # what `timeout`, Slurm and `kill -- -PGID` do
    stdout, stderr = process.communicate(timeout=HANG_TIMEOUT)
    return process.returncode, stdout, stderr


@pytest.mark.slow
def test_sigterm_to_the_process_group_with_workers_stops_cleanly(digits_dir: Path, tmp_path: Path) -> None:
    code, stdout, stderr = _signal_group_during_training(digits_dir, tmp_path, "group", signal.SIGTERM)
    assert code == 143, stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) <= 1, stderr
    last = torch.load(tmp_path / "group" / "checkpoints" / "last.pt", weights_only=True)
    assert last["trainer"]["iteration"] > 0
    assert json.loads((tmp_path / "group" / "results.json").read_text())["status"] == "interrupted"


@pytest.mark.slow
def test_sigint_to_the_process_group_with_workers_stops_cleanly(digits_dir: Path, tmp_path: Path) -> None:
    code, stdout, stderr = _signal_group_during_training(digits_dir, tmp_path, "group", signal.SIGINT)
    assert code == 130, stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) <= 1, stderr
    last = torch.load(tmp_path / "group" / "checkpoints" / "last.pt", weights_only=True)
    assert last["trainer"]["iteration"] > 0


def test_disk_full_during_a_checkpoint_write_keeps_the_earlier_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ignite.engine import Engine
    from ignite.handlers import Checkpoint

    from ignite_fire.files import DiskFullError
    from ignite_fire.handlers.disk_saver import SafeDiskSaver

    model = torch.nn.Linear(2, 2)
    engine = Engine(lambda e, b: None)
    last = Checkpoint({"model": model}, SafeDiskSaver(tmp_path), filename_pattern="last.pt", n_saved=1)
    last(engine)
    saved = torch.load(tmp_path / "last.pt", weights_only=True)

    def full(obj: object, f: object, **kwargs: object) -> None:
        f.write(b"partial")  # type: ignore[attr-defined]
        raise RuntimeError("[enforce fail at inline_container.cc:778] . PytorchStreamWriter failed writing file") \
            from OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full)
    with torch.no_grad():
        model.weight.add_(1.0)
    engine.state.iteration = 1
    with pytest.raises(DiskFullError, match=r"^the disk is full: cannot write .*last\.pt"):
        last(engine)
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no partial file left
    assert torch.equal(torch.load(tmp_path / "last.pt", weights_only=True)["weight"], saved["weight"])
