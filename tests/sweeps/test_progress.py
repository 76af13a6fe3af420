"""The sweep's opening line says what is searched and what is optimised, and the log gives an ETA."""

from __future__ import annotations

import logging

import optuna
import pytest

from ignite_fire.experiment import load_experiment
from ignite_fire.sweeps.config import parse_sweep
from ignite_fire.sweeps.progress import SweepProgress, header
from tests.helpers import HYPERBAND_EXPERIMENT, SWEEP_EXPERIMENT


def spec_of(path: str, fixed: dict | None = None):
    experiment = load_experiment(path, fixed)
    return parse_sweep(experiment.sweep, experiment.config, fixed or {}, path)


def test_header_names_the_searched_keys_and_the_goal_apart() -> None:
    text = header(spec_of(SWEEP_EXPERIMENT, {"model": "mlp"}), "s", epochs=1)
    assert text == "sweep s: bayes over learning_rate, batch_size; maximize val_acc; fixed model=mlp"


def test_hyperband_is_announced_only_when_it_can_prune() -> None:
    spec = spec_of(HYPERBAND_EXPERIMENT)
    assert header(spec, "h", epochs=2).endswith("; hyperband may stop a trial after epoch 1 (eta 3)")
    assert header(spec, "h", epochs=10).endswith("after epoch 1, 3, 9 (eta 3)")
    assert header(spec, "h", epochs=1).endswith(
        "; hyperband prunes nothing: its first check (epoch 1) is not before the last epoch (--epochs=1)"
    )


def test_eta_after_each_trial(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    progress = SweepProgress(3, clock=lambda: now[0])
    study = optuna.create_study(study_name="e")
    with caplog.at_level(logging.INFO, logger="ignite_fire"):
        now[0] += 90
        progress(study, None)  # type: ignore[arg-type]
        now[0] += 30
        progress(study, None)  # type: ignore[arg-type]
        now[0] += 60
        progress(study, None)  # type: ignore[arg-type]
    lines = [r.getMessage() for r in caplog.records if r.name == "ignite_fire"]
    assert lines[0].startswith("sweep e: 1 of 3 trials done in 1.5 min; about 3.0 min to go (ETA ")
    assert lines[1].startswith("sweep e: 2 of 3 trials done in 2.0 min; about 1.0 min to go (ETA ")
    assert lines[2] == "sweep e: 3 of 3 trials done in 3.0 min"
    with pytest.raises(ValueError, match="Argument total should be >= 1, got 0."):
        SweepProgress(0)
