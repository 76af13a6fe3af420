"""Plain helpers and constants the tests share (fixtures live in conftest.py).

Test modules import from here, never from ``conftest`` or from another ``test_*.py`` module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("IGNITE_FIRE_SHARED", REPO.parent / "shared")) / "data"
TINY_EXPERIMENT = REPO / "tests" / "tiny_experiment.py"
SWEEP_EXPERIMENT = str(REPO / "tests" / "sweeps" / "sweep_experiment.py")
HYPERBAND_EXPERIMENT = str(REPO / "tests" / "sweeps" / "hyperband_experiment.py")

# Every subprocess a test waits on gets this limit. It only catches a hang: a loaded machine (tox beside other
# work on 2 cores) can make a child many times slower than on an idle one, and that must not fail a test.
HANG_TIMEOUT = 1800

# The environment of a child process that trains: W&B offline and quiet, this checkout importable.
CHILD_ENV = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true", "PYTHONPATH": str(REPO)}


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m ignite_fire ARGS`` in a subprocess; returns the CompletedProcess (text)."""
    full_env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ignite_fire", *args],
        cwd=cwd or REPO,
        capture_output=True,
        text=True,
        timeout=HANG_TIMEOUT,
        env=full_env,
    )


def tiny_args(data_dir: Path, output_dir: Path, name: str, *extra: str) -> list[str]:
    """Arguments that train tests/tiny_experiment.py quickly on ``data_dir``."""
    return [
        str(TINY_EXPERIMENT),
        f"--data_dir={data_dir}",
        f"--output_dir={output_dir}",
        f"--name={name}",
        *extra,
    ]


def sweep_command(*args: str) -> list[str]:
    """The command line of ``python -m ignite_fire sweep ARGS``, for tests that start sweep workers themselves."""
    return [sys.executable, "-m", "ignite_fire", "sweep", *args]


def wandb_summary(run_dir: Path) -> dict:
    """Read an offline W&B run back with W&B's own tool."""
    offline = sorted((run_dir / "wandb").glob("offline-run-*"))
    assert offline, f"no offline W&B run under {run_dir / 'wandb'}"
    out = subprocess.run(
        ["wandb", "leet", "inspect", "--summary", "--json", str(offline[-1])],
        capture_output=True,
        text=True,
        timeout=HANG_TIMEOUT,
        check=True,
    )
    return json.loads(out.stdout)


def start_training(digits_dir: Path, out: Path, name: str, *extra: str) -> subprocess.Popen:
    """Start ``python -m ignite_fire tests/tiny_experiment.py`` on ``digits_dir`` in the background."""
    args = [
        sys.executable,
        "-m",
        "ignite_fire",
        str(TINY_EXPERIMENT),
        f"--data_dir={digits_dir}",
        f"--output_dir={out}",
        f"--name={name}",
        *extra,
    ]
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path: Path, process: subprocess.Popen, timeout: float = HANG_TIMEOUT) -> None:
    """Wait until ``path`` exists while ``process`` runs (a hang guard, not a speed limit)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, f"training ended early: {process.communicate()[1]}"
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.1)


def one_process_metrics(run_dir: Path, digits_dir: Path) -> tuple[dict, int]:
    """The validation metrics of ``run_dir``'s last.pt (a tiny_experiment run) computed by one process over
    the whole validation set, and that set's size: what a distributed run's history.json must equal."""
    import torch

    from ignite_fire.data.datasets import build_datasets
    from ignite_fire.data.loaders import build_eval_loader
    from ignite_fire.data.transforms import build_transforms
    from ignite_fire.engines import create_evaluator
    from ignite_fire.experiment import load_experiment
    from ignite_fire.losses import build_loss
    from ignite_fire.metrics import attach_validation_metrics

    experiment = load_experiment(TINY_EXPERIMENT, {"data_dir": str(digits_dir)})
    config = experiment.config
    splits = build_datasets(config, build_transforms(config))
    model = experiment.factories["build_model"](config, len(splits.classes))
    model.load_state_dict(torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)["model"])
    model = model.to(memory_format=torch.channels_last)
    evaluator = create_evaluator(model, "cpu", channels_last=True)
    attach_validation_metrics(evaluator, splits.classes, build_loss(config, splits.train.class_counts()))
    evaluator.run(build_eval_loader(splits.val, 16))
    return dict(evaluator.state.metrics), len(splits.val)


def train_tiny_run(digits_dir: Path, out: Path) -> Path:
    """A run of tests/tiny_experiment.py for one epoch on the digits in ``out``/tiny (no W&B, no pictures)."""
    from ignite_fire.experiment import load_experiment
    from ignite_fire.training import train

    overrides = {"data_dir": str(digits_dir), "output_dir": str(out), "name": "tiny", "epochs": 1}
    overrides |= {"wandb_mode": "disabled", "plots": False}
    return Path(train(load_experiment(TINY_EXPERIMENT, overrides))["run_dir"])
