"""Out-of-fold predictions: every labelled image exactly once, with the fold that held it out."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ignite_fire.competition.oof import OOF, predict_oof, read_oof, write_oof
from ignite_fire.data.splits import stratified_folds
from ignite_fire.errors import UserError
from ignite_fire.experiment import load_experiment
from tests.helpers import TINY_EXPERIMENT


def labelled_digits(digits_dir: Path) -> list[tuple[str, int]]:
    """Every labelled image of the digits fixture (train/ and val/ are pooled by --folds)."""
    classes = sorted(p.name for p in (digits_dir / "train").iterdir())
    return [
        (str(path), label)
        for split in ("train", "val")
        for label, name in enumerate(classes)
        for path in sorted((digits_dir / split / name).iterdir())
    ]


@pytest.mark.slow
def test_oof_covers_every_labelled_image_once_with_the_fold_that_held_it_out(tiny_cv) -> None:
    oof = read_oof(tiny_cv.cv_dir / "oof.csv")
    samples = [
        (Path(path).relative_to(tiny_cv.data_dir).as_posix(), label)
        for path, label in labelled_digits(tiny_cv.data_dir)
    ]
    assert sorted(oof.files) == sorted(path for path, _ in samples)  # each exactly once, relative to data_dir
    assert oof.files[0].startswith(("train/", "val/"))
    held_out_by = {path: k for k, part in enumerate(stratified_folds(samples, 2, seed=0)) for path, _ in part}
    assert {f: int(k) for f, k in zip(oof.files, oof.folds.tolist(), strict=True)} == held_out_by
    label_of = dict(samples)
    assert oof.labels.tolist() == [label_of[f] for f in oof.files]
    assert torch.allclose(oof.probabilities.sum(dim=1), torch.ones(len(oof.files)), atol=1e-4)


@pytest.mark.slow
def test_oof_with_tta_averages_the_flipped_view(tiny_cv) -> None:
    experiment = load_experiment(TINY_EXPERIMENT, {"data_dir": str(tiny_cv.data_dir)})
    plain = read_oof(tiny_cv.cv_dir / "oof.csv")
    flipped = predict_oof(experiment, tiny_cv.cv_dir, 2, torch.device("cpu"), tta="hflip")
    assert flipped.files == plain.files and torch.equal(flipped.folds, plain.folds)
    assert torch.allclose(flipped.probabilities.sum(dim=1), torch.ones(len(plain.files)), atol=1e-5)
    assert not torch.allclose(flipped.probabilities, plain.probabilities, atol=1e-3)  # the flip changes them


def test_oof_csv_reads_back_what_was_written_and_refuses_another_csv(tmp_path: Path) -> None:
    probabilities = torch.tensor([[0.75, 0.25], [0.125, 0.875], [0.5, 0.5]])
    labels, folds = torch.tensor([0, 1, 1]), torch.tensor([0, 1, 0])
    written = OOF(["a.png", "b/c.png", "d.png"], labels, folds, probabilities, ["x", "y"])
    write_oof(tmp_path / "oof.csv", written)
    read = read_oof(tmp_path / "oof.csv")
    assert read.files == written.files and read.classes == ["x", "y"]
    assert read.labels.tolist() == [0, 1, 1] and read.folds.tolist() == [0, 1, 0]
    assert torch.equal(read.probabilities, probabilities)  # exact in 6 decimals
    (tmp_path / "other.csv").write_text("name,score\na.png,1\n")
    with pytest.raises(UserError, match=r"other.csv is not an oof.csv \(expected columns file, label, fold"):
        read_oof(tmp_path / "other.csv")
