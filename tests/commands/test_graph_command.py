"""The `graph` command: an experiment's model graph, written into the output folder, never the current one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ignite_fire import cli, warn
from ignite_fire.commands.graph import graph
from ignite_fire.errors import UserError
from tests.helpers import TINY_EXPERIMENT


def test_graph_command_draws_an_experiments_model(
    tmp_path: Path, digits_dir: Path, capsys: pytest.CaptureFixture
) -> None:
    cli.main(["graph", str(TINY_EXPERIMENT), f"--data_dir={digits_dir}", f"--output={tmp_path / 'tiny'}"])
    assert f"wrote {tmp_path / 'tiny.dot'}" in capsys.readouterr().out
    assert " (1, 10)" in (tmp_path / "tiny.dot").read_text()  # the output: one score per digit class
    if shutil.which("dot"):
        assert (tmp_path / "tiny.png").stat().st_size > 1000


def test_graph_command_without_classes_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["graph", str(TINY_EXPERIMENT), f"--data_dir={tmp_path / 'none'}"])
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ignite_fire: error: cannot tell the number of classes: ")
    assert str(tmp_path / "none") in lines[0] and lines[0].endswith("; or pass --num_classes=N")
    assert list(tmp_path.iterdir()) == []


def test_graph_goes_into_the_output_folder_not_the_current_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    graph(str(TINY_EXPERIMENT), num_classes=3, data_dir=str(tmp_path / "none"), output_dir=str(tmp_path / "out"))
    assert "(1, 3)" in (tmp_path / "out" / "graphs" / "tiny_experiment_graph.dot").read_text()  # the head's shape
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    with pytest.raises(UserError, match="--num_classes=0 must be a positive integer"):
        graph(str(TINY_EXPERIMENT), num_classes=0)


def test_graph_without_graphviz_warns_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(warn, "_warned_once", set())
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` here
    cli.main(["graph", str(TINY_EXPERIMENT), "--num_classes=2", f"--output_dir={tmp_path}"])
    captured = capsys.readouterr()
    assert captured.err.startswith("ignite_fire: warning: Graphviz `dot` is not installed: ")
    assert len(captured.err.splitlines()) == 1 and "graph.py" not in captured.err
    assert f"wrote {tmp_path / 'graphs' / 'tiny_experiment_graph.dot'}" in captured.out
