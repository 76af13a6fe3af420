"""torch's intra-op threads default to the usable cores minus the DataLoader workers (issue 21, item 2)."""

from __future__ import annotations

import os

import pytest
import torch

from ignite_fire import performance
from ignite_fire.experiment import load_experiment
from ignite_fire.performance import configure_threads, default_threads, usable_cores
from tests.helpers import TINY_EXPERIMENT


def test_the_default_leaves_a_core_to_each_worker_and_at_least_one_thread(
    monkeypatch: pytest.MonkeyPatch, restore_threads: None
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(6)), raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(performance, "busy_cores", lambda: 0.0)  # a quiet machine
    assert usable_cores() == 6
    assert default_threads(num_workers=2) == 4
    assert default_threads(num_workers=2, processes=2) == 1  # 3 cores per process, minus 2 workers
    assert default_threads(num_workers=8) == 1
    assert configure_threads(None, 2) == 4 == torch.get_num_threads()
    assert configure_threads(3, 0) == 3 == torch.get_num_threads(), "the threads key wins"


def test_the_default_leaves_the_cores_other_processes_keep_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(2)), raising=False)
    assert default_threads(num_workers=0, busy=0.0) == 2
    assert default_threads(num_workers=0, busy=1.0) == 1, "2 cores beside one busy process: torch's 2 threads lose 10x"
    assert default_threads(num_workers=0, busy=7.0) == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(16)), raising=False)
    assert default_threads(num_workers=8, busy=2.0) == 8 and default_threads(num_workers=0, busy=2.0) == 14
    assert performance.busy_cores() >= 0.0


def test_omp_num_threads_is_left_to_torch(monkeypatch: pytest.MonkeyPatch, restore_threads: None) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(6)), raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    torch.set_num_threads(2)
    assert configure_threads(None, 0) == 2 == torch.get_num_threads()


def test_the_threads_key_is_validated() -> None:
    from ignite_fire.errors import UserError

    assert load_experiment(TINY_EXPERIMENT, {}).config["threads"] is None
    with pytest.raises(UserError, match="threads"):
        load_experiment(TINY_EXPERIMENT, {"threads": 0})


@pytest.mark.slow  # starts a busy process
def test_a_busy_process_started_a_moment_ago_is_counted() -> None:
    """The count is of what runs now: a process started a moment ago already takes a core."""
    import subprocess
    import sys
    import time

    if not os.path.exists("/proc/loadavg"):
        pytest.skip("no /proc/loadavg here")
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)
        assert performance.busy_cores() >= 0.9 * performance.usable_cores() / (os.cpu_count() or 1)
    finally:
        hog.kill()
        hog.wait()
