"""attach_pictures in real runs: run directory, index.html, the offline W&B run, and failures that only warn."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest
import torch
from ignite.engine import Engine, Events
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ignite_fire.errors import UserError
from ignite_fire.experiment import load_experiment
from ignite_fire.pictures import confusion_matrix, curves
from ignite_fire.pictures.attach import attach_pictures
from ignite_fire.training import train
from tests.helpers import HANG_TIMEOUT, TINY_EXPERIMENT, run_cli, tiny_args
from tests.pictures.picture_checks import assert_picture

HOUSES4_CLASSES = ["bathroom", "bedroom", "frontal", "kitchen"]



def wandb_run_dir(run_dir: Path) -> Path:
    offline = sorted((run_dir / "wandb").glob("offline-run-*"))
    assert offline, f"no offline W&B run under {run_dir / 'wandb'}"
    return offline[-1]


@pytest.fixture(scope="module")
def houses4_run(houses4: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("visual-runs")
    args = tiny_args(
        houses4, out, "h4", "--epochs=2", "--batch_size=64", "--plots=True", "--watch=gradients", "--watch_every=5"
    )
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    return out / "h4"


@pytest.mark.slow
def test_run_directory_holds_every_picture(houses4_run: Path) -> None:
    names = {p.name for p in houses4_run.iterdir()}
    expected = {"curves.png", "confusion_matrix.png", "gallery_epoch1.png", "gallery_epoch2.png", "model_graph.dot"}
    expected |= {"index.html"} | ({"model_graph.png", "model_graph.svg"} if shutil.which("dot") else set())
    assert expected <= names, sorted(expected - names)
    assert not [n for n in names if n.endswith(".tmp")]
    for png in houses4_run.glob("*.png"):
        assert_picture(png)
    assert "conv" in (houses4_run / "model_graph.dot").read_text().lower()  # ConvolutionBackward0 nodes


@pytest.mark.slow
def test_index_html_shows_the_pictures_by_relative_links(houses4_run: Path) -> None:
    page = (houses4_run / "index.html").read_text(encoding="utf-8")
    sources = re.findall(r'<img src="([^"]+)"', page)
    graph = ["model_graph.svg"] if shutil.which("dot") else []
    assert sources == ["curves.png", "confusion_matrix.png", "gallery_epoch2.png", *graph, "train_batch.png"]
    for link in re.findall(r'href="([^"]+)"', page):
        assert not link.startswith(("/", "http")), link  # openable from disk, folder can be moved
        assert (houses4_run / link).is_file(), link
    assert 'http-equiv="refresh"' not in page  # the run is over: no more reloading
    history = json.loads((houses4_run / "history.json").read_text())
    assert f"<td>{history[-1]['val_acc']:.4g}</td>" in page
    assert "gallery_epoch1.png" in page  # earlier galleries are linked


@pytest.mark.slow
def test_offline_wandb_run_holds_gallery_table_images_confusion_matrix_graph_and_gradients(
    houses4_run: Path,
) -> None:
    wandb_dir = wandb_run_dir(houses4_run)
    out = subprocess.run(
        ["wandb", "leet", "inspect", "--summary", "--json", str(wandb_dir)],
        capture_output=True,
        text=True,
        timeout=HANG_TIMEOUT,
        check=True,
    )
    summary = json.loads(out.stdout)["summary"]

    gallery = summary["val_gallery"]
    assert gallery["_type"] == "images/separated" and gallery["count"] == 16
    assert all(re.fullmatch(r"true: \w+, pred: \w+ \(\d\.\d\d\)", c) for c in gallery["captions"])
    for name in gallery["filenames"]:
        assert_picture_file = wandb_dir / "files" / name
        with Image.open(assert_picture_file) as image:
            assert image.size == (16, 16)  # the validation images, at the experiment's size

    table_info = summary["val_predictions"]
    assert table_info["_type"] == "table-file" and table_info["nrows"] == 16
    table = json.loads((wandb_dir / "files" / table_info["path"]).read_text())
    columns = table["columns"]
    assert columns[:6] == ["image", "true", "pred", "confidence", "kind", "file"]
    assert columns[6:] == [f"p({c})" for c in HOUSES4_CLASSES]
    kinds = [row[4] for row in table["data"]]
    assert kinds.count("example") == 8 and kinds.count("mistake") == 8  # 2 per class + 8 mistakes
    for row in table["data"]:
        assert row[1] in HOUSES4_CLASSES and row[2] in HOUSES4_CLASSES
        assert sum(row[6:]) == pytest.approx(1.0, abs=1e-4) and max(row[6:]) == pytest.approx(row[3])
        assert re.fullmatch(r"val/\w+/house\d+_\w+\.jpg", row[5]), row[5]
        if row[4] == "mistake":
            assert row[1] != row[2]

    confusion_info = summary["val_confusion_matrix_table"]
    confusion = json.loads((wandb_dir / "files" / confusion_info["path"]).read_text())
    assert confusion["columns"] == ["Actual", "Predicted", "nPredictions"]
    counts = {(a, p): n for a, p, n in confusion["data"]}
    history = json.loads((houses4_run / "history.json").read_text())
    assert sum(counts.values()) == 421  # every validation image
    assert sum(counts[(c, c)] for c in HOUSES4_CLASSES) / 421 == pytest.approx(history[-1]["val_acc"])

    if shutil.which("dot"):
        assert summary["model_graph"]["_type"] == "image-file"
    assert any(key.startswith("gradients/") for key in summary), "wandb.watch logged no gradients"


@pytest.mark.slow
def test_pictures_can_be_turned_off(digits_dir: Path, tmp_path: Path) -> None:
    overrides = {
        "data_dir": str(digits_dir),
        "output_dir": str(tmp_path),
        "name": "off",
        "epochs": 1,
        "plots": True,
        "graph": False,
        "gallery_every": 0,
        "wandb_mode": "disabled",
    }
    results = train(load_experiment(TINY_EXPERIMENT, overrides))
    run_dir = Path(results["run_dir"])
    names = {p.name for p in run_dir.iterdir()}
    assert {"curves.png", "confusion_matrix.png", "index.html"} <= names
    assert not any(n.startswith(("gallery_", "model_graph")) for n in names)
    page = (run_dir / "index.html").read_text(encoding="utf-8")
    assert "no gallery yet" in page and "no model graph" in page


@pytest.mark.slow
def test_a_failing_picture_only_warns_and_training_goes_on(
    digits_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_warnings: None
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("cannot draw")

    monkeypatch.setattr(curves, "plot_curves", broken)
    monkeypatch.setattr(confusion_matrix, "plot_confusion_matrix", broken)
    overrides = {
        "data_dir": str(digits_dir),
        "output_dir": str(tmp_path),
        "name": "broken",
        "epochs": 2,
        "plots": True,
        "graph": False,
        "wandb_mode": "disabled",
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = train(load_experiment(TINY_EXPERIMENT, overrides))
    assert results["status"] == "finished" and results["epochs_completed"] == 2
    failures = [str(w.message) for w in caught if "training goes on" in str(w.message)]
    assert failures == [  # once each, though both fail every epoch
        "the confusion matrix failed, training goes on: RuntimeError: cannot draw",
        "the curves failed, training goes on: RuntimeError: cannot draw",
    ]
    names = {p.name for p in Path(results["run_dir"]).iterdir()}
    assert {"gallery_epoch1.png", "gallery_epoch2.png", "index.html"} <= names  # the other pictures are drawn
    assert not {"curves.png", "confusion_matrix.png"} & names


def test_a_resumed_run_redraws_the_confusion_matrix_only_beyond_its_best_epoch(tmp_path: Path) -> None:
    trainer, evaluator = Engine(lambda e, b: None), Engine(lambda e, b: None)
    scores = {2: 0.5, 3: 0.95}  # the run resumes after epoch 1, whose val_acc was 0.9

    @evaluator.on(Events.COMPLETED)
    def metrics(engine: Engine) -> None:  # stands for the validation metrics, computed before the pictures
        engine.state.metrics = {"val_confusion_matrix": torch.eye(2), "val_acc": scores[trainer.state.epoch]}

    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda _: evaluator.run([0]))
    loader = DataLoader(TensorDataset(torch.zeros(2, 3, 4, 4), torch.tensor([0, 1])))
    history = [{"epoch": 1, "val_acc": 0.9}]
    options = {"graph": False, "gallery_every": 0}  # the confusion matrix, the curves and the page
    attach_pictures(trainer, evaluator, nn.Flatten(), ["a", "b"], tmp_path, loader, history.copy, "val_acc", **options)
    picture = tmp_path / "confusion_matrix.png"
    drawn = []
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda _: drawn.append(picture.exists()))
    trainer.state.epoch, trainer.state.iteration, trainer.state.max_epochs, trainer.state.epoch_length = 1, 1, 3, 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.run([0], max_epochs=3)
    assert not [str(w.message) for w in caught if "training goes on" in str(w.message)]
    assert drawn == [False, True]  # epoch 2 (0.5) is worse than epoch 1: not drawn; epoch 3 is the new best
    assert {"curves.png", "index.html"} <= {p.name for p in tmp_path.iterdir()}


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"gallery_every": -1}, "--gallery_every=-1 is out of range: must be >= 0"),
        ({"gallery_size": 0}, "--gallery_size=0 is out of range: must be >= 1"),
        ({"watch": "grads"}, "--watch='grads' is not allowed: choose one of None, 'gradients', 'parameters', 'all'"),
    ],
)
def test_bad_options_are_user_errors(digits_dir: Path, tmp_path: Path, overrides: dict, message: str) -> None:
    config = {"data_dir": str(digits_dir), "output_dir": str(tmp_path), "wandb_mode": "disabled", **overrides}
    with pytest.raises(UserError) as error:
        train(load_experiment(TINY_EXPERIMENT, config))
    assert str(error.value) == message
