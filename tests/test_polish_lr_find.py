"""lr-find speaks the command line: exact --num_iter, its own message when the loss did not diverge,
no suggestion on a flat curve (issue 21, item 8)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest

from ignite_fire.experiment import load_experiment
from ignite_fire.lr_find import find_lr, is_flat, run_lr_find
from tests.helpers import TINY_EXPERIMENT


def overrides(digits_dir: Path, out: Path) -> dict:
    return {"data_dir": str(digits_dir), "output_dir": str(out), "name": "probe", "wandb_mode": "disabled"}


def test_num_iter_is_exact(digits_dir: Path, tmp_path: Path) -> None:
    experiment = load_experiment(TINY_EXPERIMENT, overrides(digits_dir, tmp_path))
    _, history = find_lr(experiment, num_iter=30, start_lr=1e-5, end_lr=1e-2)
    assert len(history["lr"]) == len(history["loss"]) == 30
    assert 1e-5 < history["lr"][0] < 1e-5 * 1000 ** (1 / 20) and history["lr"][-1] == pytest.approx(1e-2)
    assert history["diverged"] is False


def test_a_run_that_did_not_diverge_says_what_to_change(
    digits_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ignite_fire")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Ignite's own "... look at lr_finder.plot()" warning is not shown
        run_lr_find(str(TINY_EXPERIMENT), num_iter=40, start_lr=1e-4, end_lr=10.0, **overrides(digits_dir, tmp_path))
    assert "lr-find: 40 iterations" in caplog.text  # the tiny CNN's loss rises at 10, but not 5-fold
    assert "the loss did not diverge up to --end_lr=10" in caplog.text and "--end_lr=100" in caplog.text
    assert capsys.readouterr().out.startswith("--learning_rate=")
    assert "lr_finder" not in caplog.text


def test_a_flat_curve_gets_no_suggestion(
    digits_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ignite_fire")
    run_lr_find(str(TINY_EXPERIMENT), num_iter=20, start_lr=1e-9, end_lr=1e-8, **overrides(digits_dir, tmp_path))
    assert "no suggestion: the loss hardly changed" in caplog.text
    assert "--learning_rate=" not in capsys.readouterr().out
    assert (tmp_path / "probe" / "lr_find.png").is_file()


def test_is_flat() -> None:
    assert is_flat([2.30, 2.31, 2.29, 2.30]) and not is_flat([2.3, 2.0, 1.5, 4.0]) and not is_flat([2.3, 2.25, 3.0])
