"""CurvesPlot: curves.png from the history after every epoch, best epoch marked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ignite.engine import Engine, Events
from PIL import Image

from ignite_fire.pictures.curves import CurvesPlot, best_epoch


def test_best_epoch_is_the_first_best_and_lowest_for_losses() -> None:
    history = [
        {"epoch": 1, "val_acc": 0.5, "val_loss": 0.9},
        {"epoch": 2, "val_acc": 0.8, "val_loss": float("nan")},
        {"epoch": 3, "val_acc": 0.8, "val_loss": 0.7},
    ]
    assert best_epoch(history, "val_acc") == 2
    assert best_epoch(history, "val_loss") == 3
    assert best_epoch(history, "val_macro_f1") is None


def test_curves_are_redrawn_after_every_epoch(tmp_path: Path) -> None:
    history: list[dict] = []
    trainer = Engine(lambda e, b: None)

    @trainer.on(Events.EPOCH_COMPLETED)
    def record(engine: Engine) -> None:  # stands for training's validation, which fills the history first
        e = engine.state.epoch
        history.append({"epoch": e, "train_loss": 1 / e, "val_loss": 1 / e, "val_acc": e / 4, "lr": 0.1})

    sizes = []
    curves = CurvesPlot(lambda: history, tmp_path, "val_acc", title="run")
    curves.attach(trainer)
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda _: sizes.append(curves.path.stat().st_size))
    trainer.run([0], max_epochs=2)
    assert len(sizes) == 2 and sizes[0] != sizes[1]
    with Image.open(curves.path) as picture:
        assert np.asarray(picture.convert("L")).std() > 10
    assert CurvesPlot(lambda: [], tmp_path / "empty")() is None  # nothing to draw before the first epoch


def test_arguments_are_checked(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="Argument history should be a function"):
        CurvesPlot([], tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Argument metric should be a metric name, got ''"):
        CurvesPlot(lambda: [], tmp_path, metric="")
