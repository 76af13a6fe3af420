"""The small things of issue 21, item 9: trials.png's LR ticks, cv's repeated data lines, oof.csv's paths."""

from __future__ import annotations

import logging

import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ignite_fire.competition.oof import predict_oof, read_oof
from ignite_fire.experiment import load_experiment
from ignite_fire.sweeps.results import log_axis
from tests.conftest import TINY_EXPERIMENT


@pytest.mark.parametrize("low, high", [(1e-4, 1e-2), (1e-5, 1e-1), (3e-4, 3e-3), (1e-6, 1.0), (1e-3, 5e-3)])
def test_log_axis_labels_never_overlap(low: float, high: float) -> None:
    figure = Figure(figsize=(12.6, 3.6), layout="constrained")  # trials.png with two parameters
    canvas = FigureCanvasAgg(figure)
    ax = figure.subplots(1, 3)[1]
    ax.scatter([low, high], [0.5, 0.6])
    log_axis(ax, low, high)
    canvas.draw()
    renderer = canvas.get_renderer()
    left, right = ax.get_xlim()
    shown = [
        label.get_window_extent(renderer)
        for tick, label in zip(ax.get_xticks(), ax.get_xticklabels(), strict=True)
        if left <= tick <= right and label.get_text()
    ]
    boxes = sorted(shown, key=lambda box: box.x0)
    assert len(boxes) >= 2, "at least two labels to read the scale from"
    for a, b in zip(boxes, boxes[1:], strict=False):
        assert b.x0 - a.x1 >= 6, f"{low}..{high}: labels touch or overlap ({b.x0 - a.x1:.1f} px apart)"


def test_cv_rebuilds_the_folds_data_without_logging_it_again(tiny_cv, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ignite_fire")
    experiment = load_experiment(TINY_EXPERIMENT, {"data_dir": str(tiny_cv.data_dir)})
    oof = predict_oof(experiment, tiny_cv.cv_dir, 2, torch.device("cpu"))
    assert not [r for r in caplog.records if r.getMessage().startswith("data: ")]
    assert oof.files == read_oof(tiny_cv.cv_dir / "oof.csv").files
    assert all(f.startswith(("train/", "val/")) for f in oof.files), "relative to data_dir"
    assert logging.getLogger("ignite_fire").filters == []
