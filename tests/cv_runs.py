"""A tiny 2-fold cv on the digits fixture, run as a user would: fold 0 alone, then the rest with --resume=auto."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ignite_fire.competition.crossval import cross_validate as cv
from tests.helpers import TINY_EXPERIMENT

FOLDS = 2


@dataclass
class TinyCV:
    cv_dir: Path
    data_dir: Path
    fold0_checkpoint_times: tuple[float, float]  # last.pt's mtime after the first and after the second command


def run_tiny_cv(data_dir: Path, output_dir: Path) -> TinyCV:
    options = {"data_dir": str(data_dir), "output_dir": str(output_dir), "name": "tiny", "epochs": 1}
    options |= {"wandb_mode": "disabled", "checkpoint_metric": "val_weighted_f1"}
    cv(str(TINY_EXPERIMENT), folds=FOLDS, fold=0, **options)
    last = output_dir / "tiny" / "fold0" / "checkpoints" / "last.pt"
    first = last.stat().st_mtime_ns
    cv(str(TINY_EXPERIMENT), folds=FOLDS, resume="auto", **options)
    return TinyCV(output_dir / "tiny", data_dir, (first, last.stat().st_mtime_ns))
