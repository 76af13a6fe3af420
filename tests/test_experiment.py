"""A run's config.json re-runs it (`train runs/NAME/config.json`), and --print_config shows a config."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ignite_fire.cli import main
from ignite_fire.errors import UserError
from ignite_fire.experiment import load_experiment
from tests.helpers import TINY_EXPERIMENT


@pytest.fixture
def cli(capsys: pytest.CaptureFixture) -> Iterator:
    """``python -m ignite_fire ARGS`` in this process; returns (exit code, stdout, stderr)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as stop:
            code = int(stop.code or 0)
        out = capsys.readouterr()
        return code, out.out, out.err

    yield run
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.slow
def test_config_json_records_the_run_and_re_runs_it(cli, digits_dir: Path, tmp_path: Path) -> None:
    experiment = tmp_path / "exp.py"
    shutil.copy(TINY_EXPERIMENT, experiment)
    first = ["--epochs=1", "--learning_rate=0.02", "--wandb_mode=disabled", f"--data_dir={digits_dir}"]
    code, _, err = cli("train", str(experiment), *first, f"--output_dir={tmp_path}", "--name=first")
    assert code == 0, err
    recorded = json.loads((tmp_path / "first" / "config.json").read_text())
    assert recorded["experiment"] == str(experiment.resolve())
    assert recorded["overrides"] == {
        "epochs": 1,
        "learning_rate": 0.02,
        "wandb_mode": "disabled",
        "data_dir": str(digits_dir),
        "output_dir": str(tmp_path),
        "name": "first",
    }

    code, _, err = cli("train", str(tmp_path / "first" / "config.json"), "--name=again", "--batch_size=8")
    assert code == 0, err
    again = json.loads((tmp_path / "again" / "config.json").read_text())
    assert again["learning_rate"] == 0.02 and again["epochs"] == 1 and again["batch_size"] == 8
    assert again["overrides"] == {**recorded["overrides"], "name": "again", "batch_size": 8}
    same = {k: v for k, v in recorded.items() if k not in ("name", "overrides", "batch_size")}
    assert {k: again[k] for k in same} == same  # every other setting is the first run's
    assert json.loads((tmp_path / "again" / "results.json").read_text())["status"] == "finished"

    experiment.rename(tmp_path / "moved.py")
    code, _, err = cli("train", str(tmp_path / "first" / "config.json"), "--name=third")
    assert code == 2 and err.count("\n") == 1
    assert f"the experiment file {experiment.resolve()} recorded in " in err and "missing" in err
    assert not (tmp_path / "third").exists()


def test_print_config_prints_the_resolved_config_and_creates_nothing(cli, tmp_path: Path) -> None:
    output_dir = tmp_path / "runs"
    code, out, err = cli("train", str(TINY_EXPERIMENT), "--print_config", "--epochs=7", f"--output_dir={output_dir}")
    assert code == 0, err
    printed = json.loads(out)
    assert printed["epochs"] == 7 and printed["model"] == "tiny_cnn" and printed["optimizer"] == "Adam"
    assert printed["experiment"] == str(TINY_EXPERIMENT) and printed["overrides"]["epochs"] == 7
    assert not output_dir.exists() and list(tmp_path.iterdir()) == []


def test_a_json_that_is_not_a_run_config(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"epochs": 3}))
    with pytest.raises(UserError, match="is not a run's config.json"):
        load_experiment(other)
    other.write_text("{not json")
    with pytest.raises(UserError, match="cannot read"):
        load_experiment(other)
