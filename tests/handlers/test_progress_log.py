"""ProgressLog: a line at most every ``every`` seconds and at each epoch's end (issue 21, item 5)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from ignite.engine import Engine

from ignite_fire.handlers.progress_log import LoopProgress, ProgressLog, duration_text, progress_line


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def engine_with(clock: FakeClock, seconds_per_iteration: float) -> Engine:
    def step(engine: Engine, batch):
        clock.now += seconds_per_iteration
        return 0.0

    return Engine(step)


def test_a_line_every_30_seconds_and_at_each_epoch_end() -> None:
    clock, lines = FakeClock(), []
    engine = engine_with(clock, 1.0)  # 1 s per batch of 4 images: 4 img/s
    ProgressLog(every=30, clock=clock, log=lines.append).attach(engine)
    engine.run([torch.zeros(4, 1)] * 100, max_epochs=2)
    # per epoch: at 30, 60 and 90 s, and at its end (the clock starts again at each epoch)
    assert len(lines) == 8
    assert lines[0] == "epoch 1/2  iter 30/100  4.0 img/s  eta 2m50s"  # 170 iterations of 1 s to go
    assert lines[3].startswith("epoch 1/2  iter 100/100  4.0 img/s  eta 1m40s")
    assert lines[-1] == "epoch 2/2  iter 100/100  4.0 img/s  eta 0s"


def test_the_eta_counts_the_runs_after_this_one_and_the_prefix_leads() -> None:
    clock, lines = FakeClock(), []
    engine = engine_with(clock, 2.0)
    ProgressLog(every=1000, prefix="fold 0 of 3  ", runs_after=2, clock=clock, log=lines.append).attach(engine)
    engine.run([torch.zeros(8, 1)] * 10, max_epochs=1)
    assert lines == ["fold 0 of 3  epoch 1/1  iter 10/10  4.0 img/s  eta 40s"]  # two more folds of 20 s


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="Argument every should be a positive number of seconds, got 0"):
        ProgressLog(every=0)
    with pytest.raises(ValueError, match="Argument runs_after should be a non-negative integer, got -1"):
        ProgressLog(runs_after=-1)


def test_progress_line_and_durations() -> None:
    assert duration_text(370) == "6m10s" and duration_text(3720) == "1h02m" and duration_text(45) == "45s"
    assert progress_line(120, 400, 4956, 120.0, 280) == "iter 120/400  41.3 img/s  eta 4m40s"
    assert progress_line(3, None, 0, 0.0, None) == "iter 3"


@pytest.mark.slow
def test_a_run_without_a_terminal_logs_progress_lines(
    digits_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from ignite_fire.experiment import load_experiment
    from ignite_fire.training import train
    from tests.helpers import TINY_EXPERIMENT

    caplog.set_level(logging.INFO, logger="ignite_fire")
    values = {"data_dir": str(digits_dir), "output_dir": str(tmp_path), "name": "p", "epochs": 1, "loggers": "csv"}
    train(load_experiment(TINY_EXPERIMENT, values))  # pytest's stderr is not a terminal
    lines = [r.getMessage() for r in caplog.records if " img/s" in r.getMessage()]
    assert len(lines) == 1 and lines[0].startswith("epoch 1/1  iter 20/20  ") and "eta 0s" in lines[0]


def test_a_plain_loop_logs_every_30_seconds_and_its_end_only_when_it_was_long() -> None:
    clock, lines = FakeClock(), []
    progress = LoopProgress(10, every=30, prefix="predict: ", clock=clock, log=lines.append)
    for _ in range(10):
        clock.now += 7.0
        progress.update(64)
    assert lines == ["predict: batch 5/10  9.1 img/s  eta 35s", "predict: batch 10/10  9.1 img/s  eta 0s"]
    quick: list[str] = []
    progress = LoopProgress(3, every=30, clock=clock, log=quick.append)
    for _ in range(3):
        clock.now += 1.0
        progress.update(64)
    assert quick == [], "a loop of a few seconds logs nothing"
