"""cv --refit=N: models trained on all the labelled data after the folds, averaged by predict CV_DIR.

The refits never reach the OOF (each OOF row is its own fold's prediction of a held-out image), they
train for the folds' median best epoch and keep their last epoch's weights, and predict's --members
chooses refits, folds or both.
"""

from __future__ import annotations

import json
import logging
import statistics
from pathlib import Path

import pytest
import torch

from ignite_fire.competition.crossval import REFIT_SEED_OFFSET
from ignite_fire.competition.crossval import cross_validate as cv
from ignite_fire.competition.oof import fold_validation_samples, read_oof
from ignite_fire.cv_dir import expand_checkpoints
from ignite_fire.data.datasets import build_datasets
from ignite_fire.data.transforms import build_transforms
from ignite_fire.errors import UserError
from ignite_fire.experiment import load_experiment
from ignite_fire.inference.predict import find_checkpoint, load_predictor, predict_images
from tests.competition.test_cv_dir import run_predict
from tests.tianchi_data import TIANCHI_CLASSES, digits_sources, write_tianchi

pytestmark = pytest.mark.slow
TINY_EXPERIMENT = Path(__file__).resolve().parents[1] / "tiny_experiment.py"
PER_CLASS = 24


@pytest.fixture(scope="module")
def refit_cv(digits_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """A 2-fold cv with 2 refits on a Tianchi-layout digits set (train.txt only: no fixed val split)."""
    root = tmp_path_factory.mktemp("refit")
    data = write_tianchi(root / "data", digits_sources(digits_dir), dict.fromkeys(TIANCHI_CLASSES, PER_CLASS), size=16)
    options = {"data_dir": str(data), "output_dir": str(root / "runs"), "name": "r", "epochs": 2}
    options |= {"wandb_mode": "disabled", "checkpoint_metric": "val_score"}
    cv(str(TINY_EXPERIMENT), folds=2, refit=2, **options)
    return root / "runs" / "r", data, options


def probabilities_of(path: Path, files: list[str], options: dict) -> torch.Tensor:
    experiment = load_experiment(str(TINY_EXPERIMENT), options)
    device = torch.device("cpu")
    predictor = load_predictor(find_checkpoint(path), device, experiment)
    return predict_images([predictor], Path(""), files, device, None, num_workers=0)[0]


def test_refits_train_on_all_the_data_for_the_median_best_epoch(refit_cv) -> None:
    cv_dir, _, _ = refit_cv
    summary = json.loads((cv_dir / "cv.json").read_text(encoding="utf-8"))
    results = [json.loads((cv_dir / f"fold{k}" / "results.json").read_text(encoding="utf-8")) for k in (0, 1)]
    best = [r["best_epoch"] for r in results]
    assert summary["refit"] == 2 and summary["refit_epochs"] == statistics.median_low(best)
    assert summary["refit_seeds"] == [REFIT_SEED_OFFSET, REFIT_SEED_OFFSET + 1]  # the tiny experiment's seed is 0
    labelled = PER_CLASS * len(TIANCHI_CLASSES)
    for i in (0, 1):
        run = cv_dir / f"refit{i}"
        results = json.loads((run / "results.json").read_text(encoding="utf-8"))
        history = json.loads((run / "history.json").read_text(encoding="utf-8"))
        assert results["status"] == "finished" and len(history) == summary["refit_epochs"]
        config = json.loads((run / "config.json").read_text(encoding="utf-8"))
        assert config["folds"] is None and config["seed"] == summary["refit_seeds"][i]
        # all the labelled images but the one-per-class monitoring slice (a fold trains on half of them)
        splits = build_datasets(config, build_transforms(config))
        assert (len(splits.train), len(splits.val)) == (labelled - len(TIANCHI_CLASSES), len(TIANCHI_CLASSES))


def test_refits_never_touch_the_oof(refit_cv) -> None:
    cv_dir, _, options = refit_cv
    oof = read_oof(cv_dir / "oof.csv")
    experiment = load_experiment(str(TINY_EXPERIMENT), options)
    assert len(oof.files) == PER_CLASS * len(TIANCHI_CLASSES)
    for k in (0, 1):
        rows = (oof.folds == k).nonzero()[:, 0].tolist()
        files = [str(Path(options["data_dir"]) / oof.files[i]) for i in rows]  # oof.csv: relative to data_dir
        held_out = [path for path, _ in fold_validation_samples(experiment, 2, k)[0]]
        assert sorted(files) == sorted(held_out)  # every row of fold k was held out of fold k's training
        by_fold = probabilities_of(cv_dir / f"fold{k}", files, options)
        assert torch.allclose(oof.probabilities[rows], by_fold, atol=2e-6)  # and predicted by fold k itself
        by_refit = probabilities_of(cv_dir / "refit0" / "checkpoints" / "last.pt", files, options)
        assert not torch.allclose(oof.probabilities[rows], by_refit, atol=1e-3)  # which saw these rows


def test_predict_members_averages_the_refits_the_folds_or_both(refit_cv, tmp_path: Path, caplog) -> None:
    cv_dir, data, _ = refit_cv
    images = {"input": str(data / "A"), "decision": "none"}
    last = [cv_dir / f"refit{i}" / "checkpoints" / "last.pt" for i in (0, 1)]
    refits = [run_predict(tmp_path / f"r{i}", last[i], **images)[1] for i in (0, 1)]
    folds = [run_predict(tmp_path / f"f{k}", cv_dir / f"fold{k}", **images)[1] for k in (0, 1)]
    with caplog.at_level(logging.INFO, logger="ignite_fire"):
        _, by_refit, _ = run_predict(tmp_path / "refit", cv_dir, members="refit", **images)
    assert "averaging 2 models, its refits (--members=refit)" in caplog.text
    assert torch.allclose(by_refit, (refits[0] + refits[1]) / 2, atol=2e-6)
    assert torch.equal(run_predict(tmp_path / "auto", cv_dir, **images)[1], by_refit)  # auto: the refits
    _, by_folds, _ = run_predict(tmp_path / "folds", cv_dir, members="folds", **images)
    assert torch.allclose(by_folds, (folds[0] + folds[1]) / 2, atol=2e-6)
    _, by_all, _ = run_predict(tmp_path / "all", cv_dir, members="all", **images)
    assert torch.allclose(by_all, sum(refits + folds) / 4, atol=2e-6)
    with pytest.raises(UserError, match="--members='best' is not one of auto, refit, folds, all"):
        expand_checkpoints([str(cv_dir)], "best")


def test_a_finished_refit_is_skipped_and_an_interrupted_one_resumes(refit_cv) -> None:
    cv_dir, _, options = refit_cv
    last = [cv_dir / f"refit{i}" / "checkpoints" / "last.pt" for i in (0, 1)]
    before = [path.stat().st_mtime_ns for path in last]
    cv(str(TINY_EXPERIMENT), folds=2, refit=3, resume="auto", stop_after_iteration=1, **options)  # refit2 pre-empted
    assert [path.stat().st_mtime_ns for path in last] == before
    third = cv_dir / "refit2"
    assert json.loads((third / "results.json").read_text(encoding="utf-8"))["status"] == "stopped"
    with pytest.raises(UserError, match="unfinished refits refit2"):
        expand_checkpoints([str(cv_dir)])
    cv(str(TINY_EXPERIMENT), folds=2, refit=3, resume="auto", **options)
    history = json.loads((third / "history.json").read_text(encoding="utf-8"))
    epochs = json.loads((cv_dir / "cv.json").read_text(encoding="utf-8"))["refit_epochs"]
    assert [r["epoch"] for r in history] == list(range(1, epochs + 1))
    assert len(expand_checkpoints([str(cv_dir)])[0]) == 3


def test_refit_and_decision_errors_are_one_line() -> None:
    with pytest.raises(UserError, match="--refit must be an integer >= 0"):
        cv(str(TINY_EXPERIMENT), folds=2, refit=-1)
    with pytest.raises(UserError, match="--decision='best' is not a decision family"):
        cv(str(TINY_EXPERIMENT), folds=2, decision="best")
    with pytest.raises(UserError, match="not an EMA"):
        cv(str(TINY_EXPERIMENT), folds=2, refit=1, ema_decay=0.9)
