"""The `graph` command: an experiment's model graph, a one-line error without classes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ignite_fire.errors import UserError
from ignite_fire.graph import graph_command
from tests.conftest import TINY_EXPERIMENT, run_cli


def test_graph_command_draws_an_experiments_model(tmp_path: Path, digits_dir: Path) -> None:
    result = run_cli("graph", str(TINY_EXPERIMENT), f"--data_dir={digits_dir}", f"--output={tmp_path / 'tiny'}")
    assert result.returncode == 0, result.stderr
    assert f"wrote {tmp_path / 'tiny.dot'}" in result.stdout
    assert " (1, 10)" in (tmp_path / "tiny.dot").read_text()  # the output: one score per digit class
    if shutil.which("dot"):
        assert (tmp_path / "tiny.png").stat().st_size > 1000


def test_graph_command_without_classes_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_cli("graph", str(TINY_EXPERIMENT), f"--data_dir={tmp_path / 'none'}", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ignite_fire: error: cannot tell the number of classes: ")
    assert str(tmp_path / "none") in lines[0] and lines[0].endswith("; or pass --num_classes=N")


def test_graph_command_takes_num_classes_without_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    graph_command(str(TINY_EXPERIMENT), num_classes=3, data_dir=str(tmp_path / "none"))
    assert "(1, 3)" in (tmp_path / "tiny_experiment_graph.dot").read_text()  # the head's output shape
    with pytest.raises(UserError, match="--num_classes=0 must be a positive integer"):
        graph_command(str(TINY_EXPERIMENT), num_classes=0)
