"""metrics.csv and TensorBoard beside (or without) W&B: the `loggers` key."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from ignite_fire.config import logger_names
from ignite_fire.errors import UserError
from ignite_fire.experiment import load_experiment
from ignite_fire.training import train
from tests.helpers import TINY_EXPERIMENT


@pytest.mark.slow
def test_csv_and_tensorboard_without_wandb(digits_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    overrides = {"data_dir": str(digits_dir), "output_dir": str(tmp_path), "name": "tb", "epochs": 2}
    overrides |= {"wandb_mode": "disabled", "loggers": ["csv", "tensorboard"], "plots": True, "graph": False}
    results = train(load_experiment(TINY_EXPERIMENT, {**overrides, "gallery_size": 4}))
    run_dir = tmp_path / "tb"
    assert results["wandb_dir"] is None and not (run_dir / "wandb").exists()

    history = json.loads((run_dir / "history.json").read_text())
    rows = list(csv.DictReader((run_dir / "metrics.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert list(rows[0])[:2] == ["epoch", "step"] and "learning_rate" in rows[0] and "lr" not in rows[0]
    for row, record in zip(rows, history, strict=True):
        assert int(row["step"]) == record["iteration"]
        assert float(row["val_acc"]) == pytest.approx(record["val_acc"])
        assert float(row["train_loss"]) == pytest.approx(record["train_loss"])
        assert float(row["learning_rate"]) == pytest.approx(record["lr"])

    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"images": 0, "scalars": 0}).Reload()
    tags = events.Tags()
    assert {"train_loss", "train_acc", "learning_rate", "val_acc", "val_loss", "val_macro_f1"} <= set(tags["scalars"])
    val_acc = events.Scalars("val_acc")
    assert [e.step for e in val_acc] == [r["iteration"] for r in history]  # the W&B step: the trainer's iteration
    assert [e.value for e in val_acc] == pytest.approx([r["val_acc"] for r in history])
    assert len(events.Images("val_gallery")) == 2  # gallery_epoch1.png and gallery_epoch2.png
    assert events.Images("val_confusion_matrix") and events.Images("val_gallery")[0].width > 100


def test_logger_names_accepts_a_list_or_comma_separated_names() -> None:
    assert logger_names("csv, tensorboard") == ["csv", "tensorboard"]
    assert logger_names(["wandb"]) == ["wandb"]
    with pytest.raises(UserError, match=r"--loggers=\['csv', 'mlflow'\] is not allowed: 'mlflow' is not one of wandb"):
        load_experiment(TINY_EXPERIMENT, {"loggers": ["csv", "mlflow"]})  # the schema checks the names


def test_only_the_loggers_talk_to_wandb() -> None:
    """W&B has one home: ``loggers/wandb.py`` (and the sweep agent, which drives W&B's sweep service)."""
    import ast

    package = Path(__file__).parents[1] / "ignite_fire"
    allowed = {package / "loggers" / "wandb.py", package / "sweeps" / "wandb_backend.py"}
    importers = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            if any(name == "wandb" or name.startswith("wandb.") for name in names) and path not in allowed:
                importers.append(str(path.relative_to(package)))
    assert importers == []
