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
from tests.helpers import TINY_EXPERIMENT


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


@pytest.mark.slow  # starts the CLI
def test_predict_help_says_what_checkpoints_may_be() -> None:
    from tests.helpers import run_cli

    result = run_cli("predict", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "a cv directory" in text and ".onnx files" in text and "--backend=onnxruntime" in text


@pytest.mark.slow  # trains a run
def test_predict_with_one_checkpoint_does_not_say_averaging(
    digits_dir, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    import shutil

    from ignite_fire.inference.predict import predict
    from ignite_fire.training import train

    overrides = {"data_dir": str(digits_dir), "output_dir": str(tmp_path), "name": "one", "epochs": 1, "loggers": "csv"}
    run_dir = train(load_experiment(TINY_EXPERIMENT, overrides))["run_dir"]
    images = tmp_path / "images"
    images.mkdir()
    for source in sorted((digits_dir / "val" / "1").iterdir())[:2]:
        shutil.copy(source, images / source.name)
    caplog.set_level(logging.INFO, logger="ignite_fire")
    output = str(tmp_path / "submission.txt")
    predict(run_dir, input=str(images), output=output, num_workers=0, experiment=str(TINY_EXPERIMENT))
    assert "averaging 1 checkpoints" not in caplog.text and "predict: one checkpoint;" in caplog.text
