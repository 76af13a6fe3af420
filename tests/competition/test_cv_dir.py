"""predict on a cv directory: the mean of the folds' probabilities, with the decision applied (or not)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from ignite_fire.cv_dir import expand_checkpoints, init_for_fold
from ignite_fire.errors import UserError
from ignite_fire.inference.decision import decide
from ignite_fire.inference.predict import predict
from tests.helpers import TINY_EXPERIMENT


def read_probabilities(path: Path) -> tuple[list[str], torch.Tensor]:
    rows = list(csv.reader(path.open(encoding="utf-8")))
    return [r[0] for r in rows[1:]], torch.tensor([[float(x) for x in r[1:]] for r in rows[1:]])


def run_predict(out: Path, *checkpoints: str | Path, **options) -> tuple[list[str], torch.Tensor, list[str]]:
    out.mkdir(parents=True, exist_ok=True)
    experiment = str(TINY_EXPERIMENT)  # the folds' own build_model: imported only when named
    predict(*map(str, checkpoints), output=str(out / "submission.txt"), num_workers=0, experiment=experiment, **options)
    names, probabilities = read_probabilities(out / "probabilities.csv")
    labels = [line.split("\t")[1] for line in (out / "submission.txt").read_text(encoding="utf-8").splitlines()]
    return names, probabilities, labels


@pytest.mark.slow
def test_predict_on_a_cv_dir_averages_the_folds_and_applies_the_decision(tiny_cv, tmp_path: Path) -> None:
    images = tiny_cv.data_dir / "val"
    cv_dir = tiny_cv.cv_dir
    _, fold0, _ = run_predict(tmp_path / "f0", cv_dir / "fold0", input=str(images))
    _, fold1, _ = run_predict(tmp_path / "f1", cv_dir / "fold1", input=str(images))
    _, plain, plain_labels = run_predict(tmp_path / "plain", cv_dir, input=str(images), decision="none")
    assert torch.allclose(plain, (fold0 + fold1) / 2, atol=2e-6)
    classes = json.loads((cv_dir / "cv.json").read_text(encoding="utf-8"))["classes"]
    assert plain_labels == [classes[i] for i in plain.argmax(dim=1).tolist()]

    stored = json.loads((cv_dir / "decision.json").read_text(encoding="utf-8"))
    _, auto, auto_labels = run_predict(tmp_path / "auto", cv_dir, input=str(images))
    assert torch.equal(auto, plain)
    assert auto_labels == [classes[i] for i in decide(plain, stored["bias"], stored["scale"]).tolist()]

    forced = {"classes": classes, "bias": [3.0 if c == classes[4] else 0.0 for c in classes]}
    decision_file = tmp_path / "forced.json"
    decision_file.write_text(json.dumps(forced), encoding="utf-8")
    _, _, forced_labels = run_predict(tmp_path / "forced", cv_dir, input=str(images), decision=str(decision_file))
    assert forced_labels == [classes[i] for i in decide(plain, forced["bias"]).tolist()]
    assert forced_labels.count(classes[4]) > plain_labels.count(classes[4])


@pytest.mark.slow
def test_cv_dir_paths(tiny_cv) -> None:
    cv_dir = tiny_cv.cv_dir
    expanded, decision = expand_checkpoints([str(cv_dir), "other.pt"])
    assert (
        expanded == [str(cv_dir / "fold0"), str(cv_dir / "fold1"), "other.pt"] and decision == cv_dir / "decision.json"
    )
    assert init_for_fold(str(cv_dir), 1) == str(cv_dir / "fold1")  # --init_from=CV_DIR with cv: the same fold
    assert init_for_fold("runs/x", 1) == "runs/x"
    with pytest.raises(UserError, match="use it with cv"):
        init_for_fold(str(cv_dir), None)


def test_checkpoints_and_init_from_that_are_not_cv_dirs_pass_through(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()  # a run directory: no cv.json
    assert expand_checkpoints([str(tmp_path / "run"), "other.pt"]) == ([str(tmp_path / "run"), "other.pt"], None)
    assert init_for_fold(str(tmp_path / "run"), 1) == str(tmp_path / "run")
    assert init_for_fold(None, 0) is None
