"""The ``bench`` command: registered in COMMANDS, a mode per run, options checked against the mode."""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import pytest

from ignite_fire import cli

TINY = ["--model=tiny_cnn", "--image_size=16", "--batch_size=4", "--device=cpu", "--amp=False"]
TINY += ["--steps=1", "--warmup=1", "--rounds=1"]


def test_bench_train_runs_through_the_cli_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "bench.json"
    cli.main(["bench", "train", *TINY, "--contenders=ignite_fire,plain", f"--json_out={out}"])
    assert "ignite_fire/plain" in capsys.readouterr().out
    assert set(json.loads(out.read_text())["median_img_per_s"]) == {"ignite_fire", "plain"}


def test_python_m_ignite_fire_bench_is_an_alias(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "bench.json"
    monkeypatch.setattr(sys, "argv", ["ignite_fire.bench", "train", *TINY, "--contenders=seed", f"--json_out={out}"])
    runpy.run_module("ignite_fire.bench", run_name="__main__")
    assert set(json.loads(out.read_text())["median_img_per_s"]) == {"seed"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bench", "fast"], "bench has no mode 'fast': choose one of train, input, sync, gpu"),
        (["bench", "input", "--repeat=3"], "bench input has no option --repeat; did you mean --repeats?"),
    ],
)
def test_bench_refuses_an_unknown_mode_or_option_in_one_line(
    capsys: pytest.CaptureFixture, args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(args)
    assert exit_.value.code == 2 and capsys.readouterr().err == f"ignite_fire: error: {message}\n"
