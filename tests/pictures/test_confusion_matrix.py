"""ConfusionMatrixPlot: the local picture follows the best epoch (higher score, or lower loss)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from ignite.engine import Engine
from PIL import Image

from ignite_fire.pictures.confusion_matrix import ConfusionMatrixPlot


def evaluate(plot: ConfusionMatrixPlot, trainer: Engine, epoch: int, score: float, metric: str) -> float | None:
    """One evaluation's end: returns the PNG's modification time (None when there is none)."""
    trainer.state.epoch = epoch
    evaluator = Engine(lambda e, b: None)
    evaluator.state.metrics = {"val_confusion_matrix": torch.tensor([[3, 1], [epoch, 2]]), metric: score}
    plot(evaluator)
    return os.stat(plot.path).st_mtime_ns if plot.path.exists() else None


@pytest.mark.parametrize(
    "metric, scores, best",
    [("val_acc", [0.5, 0.7, 0.6, 0.7], 2), ("val_loss", [1.0, 0.8, 0.9, 0.5], 4), ("val_acc", [float("nan"), 0.2], 2)],
)
def test_the_picture_is_redrawn_only_for_a_better_epoch(
    tmp_path: Path, metric: str, scores: list[float], best: int
) -> None:
    trainer = Engine(lambda e, b: None)
    plot = ConfusionMatrixPlot(["高风险", "low"], tmp_path, trainer, metric)
    drawn = []
    for epoch, score in enumerate(scores, start=1):
        before = os.stat(plot.path).st_mtime_ns if plot.path.exists() else None
        after = evaluate(plot, trainer, epoch, score, metric)
        if after != before:
            drawn.append(epoch)
    assert drawn[-1] == best and plot.best_epoch == best
    assert plot.state_dict() == {"best_score": pytest.approx(scores[best - 1]), "best_epoch": best}
    with Image.open(plot.path) as picture:
        assert np.asarray(picture.convert("L")).std() > 10


def test_a_resumed_run_keeps_its_best_score(tmp_path: Path) -> None:
    trainer = Engine(lambda e, b: None)
    plot = ConfusionMatrixPlot(["a", "b"], tmp_path, trainer, "val_acc")
    plot.load_state_dict({"best_score": 0.9, "best_epoch": 3})
    assert evaluate(plot, trainer, 4, 0.8, "val_acc") is None  # worse than epoch 3: not drawn
    assert evaluate(plot, trainer, 5, 0.95, "val_acc") is not None


def test_arguments_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Argument classes should not be empty"):
        ConfusionMatrixPlot([], tmp_path, Engine(lambda e, b: None))
    with pytest.raises(ValueError, match="Argument metric should be a metric name, got ''"):
        ConfusionMatrixPlot(["a"], tmp_path, Engine(lambda e, b: None), metric="")
