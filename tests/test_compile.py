"""compile=True: the trainer and evaluator run the compiled model, the compile time is logged, checkpoints hold the
plain model. torch.compile on a CPU compiles C++ for minutes, so the end-to-end run is a slow test."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import torch
from ignite.engine import Engine

from ignite_fire.experiment import load_experiment
from ignite_fire.handlers.first_iteration_time import FirstIterationTime
from ignite_fire.performance import compile_model
from ignite_fire.training import train
from tests.helpers import TINY_EXPERIMENT

SLOW = pytest.mark.skipif(
    not os.environ.get("IGNITE_FIRE_SLOW_TESTS"),
    reason="slow: torch.compile on a CPU spends 0.5-3 min compiling C++ (34 s with a warm cache, 160 s cold on "
    "the 2-core dev machine); set IGNITE_FIRE_SLOW_TESTS=1 to run it",
)


@pytest.mark.slow
@SLOW
def test_compile_true_trains_logs_the_compile_time_and_saves_the_plain_model(
    digits_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ignite_fire")
    overrides = {
        "data_dir": str(digits_dir),
        "output_dir": str(tmp_path),
        "name": "compiled",
        "epochs": 1,
        "compile": True,
        "wandb_mode": "disabled",
        "graph": False,
        "gallery_every": 0,
    }
    results = train(load_experiment(TINY_EXPERIMENT, overrides))
    assert results["status"] == "finished"
    assert "torch.compile: the first training iteration took" in caplog.text
    assert "torch.compile: the first validation iteration took" in caplog.text
    state = torch.load(tmp_path / "compiled" / "checkpoints" / "last.pt", weights_only=True)["model"]
    assert state and not any(key.startswith("_orig_mod.") for key in state)


def test_compile_false_leaves_the_model_alone() -> None:
    model = torch.nn.Linear(2, 2)
    assert compile_model(model, False) is model


def test_first_iteration_time_logs_the_first_iteration_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ignite_fire")
    engine = Engine(lambda engine, batch: batch)
    timer = FirstIterationTime("training")
    timer.attach(engine)
    engine.run([1, 2, 3], max_epochs=2)
    assert caplog.text.count("torch.compile: the first training iteration took") == 1
    assert timer.seconds is not None and timer.seconds >= 0


def test_first_iteration_time_needs_a_label() -> None:
    with pytest.raises(ValueError, match="Argument label should be a non-empty string, got ''"):
        FirstIterationTime("")
