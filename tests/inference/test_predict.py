"""predict: train on a Tianchi-layout set of real photos (houses4), write the submission in the list
file's order, average the folds' checkpoints, and fail on bad input without leaving a partial file."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import torch

from ignite_fire.data.datasets import build_datasets
from ignite_fire.data.transforms import build_transforms
from ignite_fire.errors import UserError
from ignite_fire.experiment import load_experiment
from ignite_fire.inference.predict import find_checkpoint, predict
from ignite_fire.training import train
from tests.error_checks import assert_one_line_error, files_under
from tests.helpers import TINY_EXPERIMENT, run_cli
from tests.tianchi_data import TIANCHI_CLASSES, houses4_sources, write_tianchi

EXPERIMENT = str(TINY_EXPERIMENT)  # defines its own build_model: predict imports it only when named
PER_CLASS = {"高风险": 6, "中风险": 14, "低风险": 14, "无风险": 14, "非楼道": 14}


@pytest.fixture(scope="module")
def tianchi(houses4: Path, digits_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """train/ + train.txt (5 Chinese classes, 高风险 rare) and A/ + A.txt (10 images in a shuffled order)."""
    root = tmp_path_factory.mktemp("tianchi_houses")
    return write_tianchi(root, houses4_sources(houses4, digits_dir), PER_CLASS, test_per_class=2, size=48)


@pytest.fixture(scope="module")
def fold_runs(tianchi: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two folds of a 2-fold cross-validation, trained in-process (tiny CNN, 2 epochs)."""
    output = tmp_path_factory.mktemp("runs")
    runs = []
    for fold in range(2):
        overrides = {
            "data_dir": str(tianchi),
            "output_dir": str(output),
            "name": f"fold{fold}",
            "classes": TIANCHI_CLASSES,
            "folds": 2,
            "fold": fold,
            "epochs": 2,
            "checkpoint_metric": "val_weighted_f1",  # the old name of val_score, still accepted
            "class_weights": "auto",
            "wandb_mode": "disabled",
        }
        results = train(load_experiment(TINY_EXPERIMENT, overrides))
        assert results["checkpoint_metric"] == "val_score" and results["best_checkpoint"]
        history = json.loads((Path(results["run_dir"]) / "history.json").read_text())
        assert results["val_score"] == max(r["val_score"] for r in history)
        assert results["classes"] == TIANCHI_CLASSES
        runs.append(Path(results["run_dir"]))
    return runs


def read_submission(path: Path) -> list[tuple[str, str]]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    return [tuple(line.split("\t")) for line in text.splitlines()]


def read_probabilities(path: Path) -> tuple[list[str], dict[str, list[float]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], {row[0]: [float(x) for x in row[1:]] for row in rows[1:]}


@pytest.mark.slow
def test_cli_predict_two_folds_in_list_order(tianchi: Path, fold_runs: list[Path], tmp_path: Path) -> None:
    output = tmp_path / "out" / "submission.txt"
    result = run_cli(
        "predict",
        *(str(run) for run in fold_runs),
        f"--input={tianchi / 'A'}",
        f"--list={tianchi / 'A.txt'}",
        f"--output={output}",
        "--tta=hflip",
        "--num_workers=0",
        f"--experiment={TINY_EXPERIMENT}",  # its own build_model: a checkpoint never names code to run
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    listed = (tianchi / "A.txt").read_text(encoding="utf-8").split()
    submission = read_submission(output)
    assert [name for name, _ in submission] == listed, "the list file's order, not sorted"
    assert listed != sorted(listed)
    assert all(label in TIANCHI_CLASSES for _, label in submission)
    assert "images/s" in result.stdout and "with 2 checkpoints" in result.stdout

    header, probabilities = read_probabilities(tmp_path / "out" / "probabilities.csv")
    assert header == ["file_name", *TIANCHI_CLASSES]
    for name, label in submission:
        row = probabilities[name]
        assert sum(row) == pytest.approx(1.0, abs=1e-4)
        assert TIANCHI_CLASSES[row.index(max(row))] == label


@pytest.mark.slow
def test_several_checkpoints_average_their_probabilities(tianchi: Path, fold_runs: list[Path], tmp_path: Path):
    single = []
    for i, run in enumerate(fold_runs):
        predict(
            run,
            input=str(tianchi / "A"),
            output=str(tmp_path / f"{i}.txt"),
            num_workers=0,
            probabilities=str(tmp_path / f"{i}.csv"),
            experiment=EXPERIMENT,
        )
        single.append(read_probabilities(tmp_path / f"{i}.csv")[1])
    summary = predict(
        *fold_runs,
        input=str(tianchi / "A"),
        output=str(tmp_path / "both.txt"),
        num_workers=0,
        probabilities=str(tmp_path / "both.csv"),
        experiment=EXPERIMENT,
    )
    both = read_probabilities(tmp_path / "both.csv")[1]
    for name, row in both.items():
        expected = [(a + b) / 2 for a, b in zip(single[0][name], single[1][name], strict=True)]
        assert row == pytest.approx(expected, abs=2e-6)
    names = [name for name, _ in read_submission(tmp_path / "both.txt")]
    assert names == sorted(names), "without --list: sorted by name"
    assert summary["images"] == 10 and summary["images_per_second"] > 0


@pytest.mark.slow
def test_best_checkpoint_of_a_run_dir_and_its_contents(fold_runs: list[Path]) -> None:
    path = find_checkpoint(fold_runs[0])
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    assert checkpoint["classes"] == TIANCHI_CLASSES
    assert checkpoint["config"]["experiment"] == str(TINY_EXPERIMENT)
    assert checkpoint["meta"]["metric"] == "val_score"


@pytest.mark.slow
def test_predict_reproduces_the_validation_accuracy(tianchi: Path, fold_runs: list[Path], tmp_path: Path) -> None:
    path = find_checkpoint(fold_runs[1])
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    config = checkpoint["config"]
    val = build_datasets(config, build_transforms(config)).val.samples  # the run's fold 1
    listing = tmp_path / "val.txt"
    listing.write_text("".join(f"{Path(p).name}\n" for p, _ in val), encoding="utf-8")
    output = str(tmp_path / "s.txt")
    predict(path, input=str(tianchi / "train"), list=str(listing), output=output, num_workers=0, experiment=EXPERIMENT)
    predicted = [label for _, label in read_submission(tmp_path / "s.txt")]
    accuracy = sum(p == TIANCHI_CLASSES[y] for p, (_, y) in zip(predicted, val, strict=True)) / len(val)
    best = max((r for r in json.loads((fold_runs[1] / "history.json").read_text())), key=lambda r: r["val_score"])
    assert accuracy == pytest.approx(best["val_acc"])


@pytest.mark.slow
def test_a_custom_model_needs_its_experiment_named(fold_runs: list[Path], tianchi: Path, tmp_path: Path) -> None:
    output = tmp_path / "s.txt"
    with pytest.raises(UserError) as caught:
        predict(str(fold_runs[0]), input=str(tianchi / "A"), output=str(output), num_workers=0)
    checkpoint = find_checkpoint(fold_runs[0])
    assert str(caught.value) == (
        f"{checkpoint} was trained with its experiment's own build_model ({TINY_EXPERIMENT}): "
        f"pass --experiment={TINY_EXPERIMENT} to rebuild it"
    )
    assert not output.exists()
    with pytest.raises(UserError, match=r"--experiment=.*config\.json must be the experiment's \.py file"):
        predict(str(checkpoint), input=str(tianchi / "A"), output=str(output), experiment=str(tmp_path / "config.json"))


@pytest.mark.slow
def test_corrupt_image_fails_without_a_partial_submission(
    tianchi: Path, fold_runs: list[Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    images = tmp_path / "A"
    shutil.copytree(tianchi / "A", images)
    broken = sorted(images.iterdir())[3]
    broken.write_bytes(broken.read_bytes()[:80])
    output = tmp_path / "out" / "submission.txt"
    args = ["predict", str(fold_runs[0]), f"--input={images}", f"--output={output}", "--num_workers=1"]
    args.append(f"--experiment={EXPERIMENT}")
    assert_one_line_error(run_cli(*args), f"cannot read image {broken}", "--on_bad_image=skip")
    assert files_under(tmp_path / "out") == []

    with caplog.at_level("INFO", logger="ignite_fire"):
        options = {"num_workers": 0, "on_bad_image": "skip", "experiment": EXPERIMENT}
        summary = predict(fold_runs[0], input=str(images), output=str(output), **options)
    assert f"skipped 1 unreadable image (not in the submission): {broken.name}" in caplog.text
    names = [name for name, _ in read_submission(output)]
    assert len(names) == 9 and broken.name not in names and summary["skipped"] == [broken.name]


@pytest.mark.slow
def test_list_naming_missing_files(tianchi: Path, fold_runs: list[Path], tmp_path: Path) -> None:
    listing = tmp_path / "B.txt"
    listing.write_text(
        "ghost_1.jpg\n" + (tianchi / "A.txt").read_text(encoding="utf-8") + "ghost_2.jpg\tx\n", encoding="utf-8"
    )
    output = tmp_path / "submission.txt"
    with pytest.raises(UserError) as caught:
        options = {"num_workers": 0, "experiment": EXPERIMENT}
        predict(fold_runs[0], input=str(tianchi / "A"), list=str(listing), output=str(output), **options)
    assert str(caught.value) == (
        f"{listing} lists images that are not in {tianchi / 'A'}: ghost_1.jpg (line 1), ghost_2.jpg (line 12)"
    )
    assert files_under(tmp_path) == [listing]


def one_image(folder: Path) -> Path:
    from PIL import Image

    folder.mkdir()
    Image.new("RGB", (16, 16)).save(folder / "a.png")
    return folder


@pytest.mark.parametrize(
    ("option", "fragment"),
    [
        ({"num_workers": -1}, "--num_workers must be an integer >= 0"),
        ({"num_workers": "two"}, "--num_workers must be an integer >= 0"),
        ({"batch_size": 0}, "--batch_size must be a positive integer"),
        ({"tta": "bogus"}, "--tta='bogus': unknown mode 'bogus'"),
        ({"on_bad_image": "ignore"}, "--on_bad_image='ignore' is not allowed"),
    ],
)
def test_bad_predict_options_are_one_line(tmp_path: Path, option: dict, fragment: str) -> None:
    images = one_image(tmp_path / "A")
    with pytest.raises(UserError, match=fragment) as caught:
        predict(str(tmp_path / "x.pt"), input=str(images), output=str(tmp_path / "out" / "s.txt"), **option)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_predict_with_a_file_that_is_not_a_checkpoint_leaves_no_output_folder(tmp_path: Path) -> None:
    images = one_image(tmp_path / "A")
    notes = tmp_path / "notes.pt"
    notes.write_text("not a model")
    output = tmp_path / "new" / "sub" / "submission.txt"
    with pytest.raises(UserError, match=f"^{notes} is not an ignite_fire checkpoint"):
        predict(str(notes), input=str(images), output=str(output), device="cpu")
    assert not (tmp_path / "new").exists()
