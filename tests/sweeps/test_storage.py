"""Sweep workers sharing one study on a real PostgreSQL server (a throwaway cluster, started and stopped here)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tests.helpers import CHILD_ENV, HANG_TIMEOUT, REPO, SWEEP_EXPERIMENT, sweep_command
from tests.sweeps.postgres_cluster import missing_reason, throwaway_cluster


@pytest.mark.slow
@pytest.mark.skipif(missing_reason() is not None, reason=missing_reason() or "")
def test_two_workers_share_one_postgresql_study(digits_dir: Path, tmp_path: Path) -> None:
    with throwaway_cluster() as url:
        args = [SWEEP_EXPERIMENT, f"--data_dir={digits_dir}", f"--output_dir={tmp_path}", "--name=pg"]
        args += [f"--storage={url}", "--wandb_mode=disabled"]
        workers = [
            subprocess.Popen(
                sweep_command(*args, "--count=1"), env=CHILD_ENV, cwd=REPO, stdout=subprocess.PIPE, text=True
            )
            for _ in range(2)
        ]
        outputs = [worker.communicate(timeout=HANG_TIMEOUT)[0] for worker in workers]
        assert [worker.returncode for worker in workers] == [0, 0], outputs
        assert all("storage postgresql+psycopg://fire@/postgres" in output for output in outputs)

        study = optuna.load_study(study_name="pg", storage=url)
        trials = study.get_trials()
        assert [t.state for t in trials] == [TrialState.COMPLETE] * 2  # the two counts add up
        assert sorted(t.number for t in trials) == [0, 1]
        assert len({t.user_attrs["pid"] for t in trials}) == 2  # one trial from each worker
        assert trials[0].params != trials[1].params
        run_dirs = {t.user_attrs["run_dir"] for t in trials}
        assert len(run_dirs) == 2 and all((Path(d) / "results.json").is_file() for d in run_dirs)
        assert not (tmp_path / "pg" / "study.db").exists()  # the study is in the server, not in SQLite
