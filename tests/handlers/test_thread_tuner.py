"""A CPU run measures its thread counts on the first iterations and keeps the fastest (issue 21, item 2)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from ignite.engine import Engine

from ignite_fire import performance
from ignite_fire.handlers.thread_tuner import ThreadTuner
from ignite_fire.performance import thread_candidates


def run_with_costs(tuner: ThreadTuner, costs: dict[int, float], iterations: int = 40) -> list[int]:
    """Train-like iterations whose duration (on a fake clock) depends on torch's thread count; the
    counts each iteration ran with."""
    now = [0.0]
    tuner.clock = lambda: now[0]
    used: list[int] = []

    def step(engine: Engine, batch: int) -> None:
        used.append(torch.get_num_threads())
        now[0] += costs[torch.get_num_threads()]

    engine = Engine(step)
    tuner.attach(engine)
    engine.run(range(iterations), max_epochs=1)
    return used


def test_the_faster_count_is_kept_after_each_was_timed(restore_threads: None) -> None:
    tuner = ThreadTuner([1, 2], warmup=5, window=10)
    used = run_with_costs(tuner, {1: 0.010, 2: 0.004})
    assert tuner.chosen == 2 == torch.get_num_threads()
    assert used[:16] == [1] * 16 and used[16:27] == [2] * 11  # warm-up, 1's settle + window, then 2's
    assert used[27:] == [2] * 13
    assert tuner.seconds[1] == pytest.approx([0.010] * 10) and tuner.seconds[2] == pytest.approx([0.004] * 10)


def test_the_first_count_stays_unless_another_is_clearly_faster(restore_threads: None) -> None:
    tuner = ThreadTuner([1, 2], margin=0.05)
    run_with_costs(tuner, {1: 0.010, 2: 0.0098})  # 2 % faster: noise, not a reason to change
    assert tuner.chosen == 1 == torch.get_num_threads()
    slower = ThreadTuner([1, 2])
    run_with_costs(slower, {1: 0.010, 2: 0.030})  # two threads beside a busy process
    assert slower.chosen == 1 == torch.get_num_threads()


def test_a_resumed_run_keeps_the_count_it_chose(restore_threads: None) -> None:
    tuned = ThreadTuner([1, 2])
    run_with_costs(tuned, {1: 0.010, 2: 0.004})
    resumed = ThreadTuner([1, 2])
    resumed.load_state_dict(tuned.state_dict())
    used = run_with_costs(resumed, {1: 0.004, 2: 0.010})  # even where the other would now be faster
    assert resumed.chosen == 2 and set(used) == {2}
    unfinished = ThreadTuner([1, 2])
    unfinished.load_state_dict({"chosen": None})  # stopped while tuning: it tunes again
    run_with_costs(unfinished, {1: 0.004, 2: 0.010})
    assert unfinished.chosen == 1


def test_too_few_iterations_keep_the_first_count(restore_threads: None) -> None:
    tuner = ThreadTuner([1, 2])
    run_with_costs(tuner, {1: 0.010, 2: 0.001}, iterations=20)  # 5 + 2 * 11 are needed
    assert tuner.chosen is None and torch.get_num_threads() == 2  # in 2's settling slot when the data ended


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"candidates": []}, r"Argument candidates should be positive integers, got \[\]"),
        ({"candidates": [0, 1]}, r"Argument candidates should be positive integers, got \[0, 1\]"),
        ({"candidates": [2, 2]}, r"Argument candidates should not repeat a count, got \[2, 2\]"),
        ({"candidates": [1, 2], "window": 2}, "Argument window should be at least 3, got 2"),
        ({"candidates": [1, 2], "warmup": -1}, "Argument warmup should be non-negative, got -1"),
        ({"candidates": [1, 2], "margin": 1.0}, r"Argument margin should be in \[0, 1\), got 1.0"),
    ],
)
def test_bad_arguments_are_refused_with_their_message(arguments: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ThreadTuner(**arguments)


def test_the_candidates_are_the_rule_then_all_cores_unless_the_user_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(2)), raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert thread_candidates(None, 1) == [1, 2]
    assert thread_candidates(None, 2) == [2], "nothing to try: the rule took every core"
    assert thread_candidates(None, 1, processes=2) == [1]
    assert thread_candidates(2, 2) == [], "--threads=2: the user chose"
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert thread_candidates(None, 1) == [], "OMP_NUM_THREADS: the user chose"


def test_a_cpu_run_tunes_and_saves_its_choice_in_last_pt(
    digits_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restore_threads: None
) -> None:
    from ignite_fire.experiment import load_experiment
    from ignite_fire.training import build_run
    from tests.helpers import TINY_EXPERIMENT

    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(2)), raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(performance, "busy_cores", lambda: 1.0)  # the rule says 1 thread of 2
    values = {"data_dir": str(digits_dir), "output_dir": str(tmp_path), "name": "t", "epochs": 1}
    run = build_run(load_experiment(TINY_EXPERIMENT, {**values, "wandb_mode": "disabled"}))
    try:
        tuner = run.to_save["thread_tuner"]
        assert isinstance(tuner, ThreadTuner) and tuner.candidates == [1, 2]
        assert run.last_checkpointer.to_save["thread_tuner"] is tuner  # in last.pt: a resume keeps the count
    finally:
        run.claim.release()
    chosen = build_run(load_experiment(TINY_EXPERIMENT, {**values, "name": "u", "threads": 1}))
    try:
        assert "thread_tuner" not in chosen.to_save, "--threads=1: nothing is tried"
    finally:
        chosen.claim.release()


@pytest.mark.slow  # a real training run in its own process, with neither OMP_NUM_THREADS nor --threads
def test_a_real_run_tunes_records_and_saves_the_same_count(digits_dir: Path, tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    from ignite_fire.handlers.checkpoints import load_checkpoint
    from tests.helpers import HANG_TIMEOUT, REPO, tiny_args

    if performance.usable_cores() < 2:
        pytest.skip("one core: there is no other thread count to try")
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"} | {"WANDB_MODE": "disabled"}
    # one worker: the rule leaves it a core, so fewer threads than cores, and the tuner tries both;
    # 2 epochs of the tiny run are 40 iterations, more than the 27 that tuning takes
    args = tiny_args(digits_dir, tmp_path, "tuned", "--epochs=2", "--num_workers=1")
    command = [sys.executable, "-m", "ignite_fire", *args]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=HANG_TIMEOUT)
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "tuned" / "results.json").read_text())
    tuner = load_checkpoint(tmp_path / "tuned" / "checkpoints" / "last.pt")["thread_tuner"]
    assert tuner["chosen"] == results["cpu_threads"] >= 1
    assert results["cpu_threads"] <= performance.usable_cores()
