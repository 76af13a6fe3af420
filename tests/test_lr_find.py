"""lr-find: FastaiLRFinder on the assembled run; lr_find.png and a suggestion, nothing else written."""

from __future__ import annotations

from pathlib import Path

import pytest

from ignite_fire.errors import UserError
from ignite_fire.lr_find import run_lr_find
from tests.helpers import TINY_EXPERIMENT


@pytest.mark.slow
def test_lr_find_writes_the_picture_and_prints_a_learning_rate(
    digits_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    overrides = {"data_dir": str(digits_dir), "output_dir": str(tmp_path), "name": "probe", "wandb_mode": "disabled"}
    run_lr_find(str(TINY_EXPERIMENT), num_iter=40, start_lr=1e-4, end_lr=10.0, **overrides)
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    assert printed.startswith("--learning_rate=")
    assert 1e-4 <= float(printed.split("=")[1]) <= 10.0
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["probe", "probe/lr_find.png"]
    assert (tmp_path / "probe" / "lr_find.png").stat().st_size > 5000


def test_lr_find_arguments_are_checked() -> None:
    with pytest.raises(UserError, match="--num_iter must be an integer >= 2"):
        run_lr_find(str(TINY_EXPERIMENT), num_iter=1)
    with pytest.raises(UserError, match="must be positive and below --end_lr"):
        run_lr_find(str(TINY_EXPERIMENT), start_lr=1.0, end_lr=0.1)
