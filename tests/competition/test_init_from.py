"""--init_from: a new run starts from another run's model weights; a head for other classes is re-initialised."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch

from ignite_fire.errors import UserError
from ignite_fire.experiment import load_experiment
from ignite_fire.handlers.checkpoints import load_checkpoint
from ignite_fire.init_from import init_checkpoint, load_initial_weights
from ignite_fire.training import train
from tests.helpers import TINY_EXPERIMENT
from tests.tiny_experiment import build_model


@pytest.mark.slow
def test_a_new_run_starts_from_the_checkpoints_weights(tiny_cv, tmp_path: Path) -> None:
    source = init_checkpoint(tiny_cv.cv_dir / "fold0")  # a run directory stands for its best checkpoint
    saved = load_checkpoint(source)["model"]
    at_start: dict[str, torch.Tensor] = {}
    overrides = {
        "data_dir": str(tiny_cv.data_dir),
        "output_dir": str(tmp_path),
        "name": "stage2",
        "epochs": 1,
        "image_size": 24,  # stage 2 at a larger image size
        "init_from": str(tiny_cv.cv_dir / "fold0"),
        "wandb_mode": "disabled",
    }
    results = train(
        load_experiment(TINY_EXPERIMENT, overrides),
        attach=lambda run: at_start.update({k: v.clone() for k, v in run.model.state_dict().items()}),
    )
    assert results["status"] == "finished" and results["epochs_completed"] == 1  # a fresh run: epoch 1 of 1
    assert set(at_start) == set(saved)
    assert all(torch.equal(at_start[k], saved[k]) for k in saved)


@pytest.mark.slow
def test_a_head_for_other_classes_is_reinitialised_and_logged(tiny_cv, caplog: pytest.LogCaptureFixture) -> None:
    saved = load_checkpoint(init_checkpoint(tiny_cv.cv_dir / "fold1"))["model"]
    model = build_model({}, 3)
    fresh_head = model[9].weight.detach().clone()
    with caplog.at_level(logging.INFO, logger="ignite_fire"):
        reset = load_initial_weights(model, tiny_cv.cv_dir / "fold1", ["a", "b", "c"])
    assert reset == ["9.weight", "9.bias"]
    assert "head re-initialised" in caplog.text
    assert torch.equal(model[0].weight, saved["0.weight"]) and torch.equal(model[4].weight, saved["4.weight"])
    assert torch.equal(model[9].weight, fresh_head)


@pytest.mark.slow
def test_init_from_errors_are_one_line(tiny_cv, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="is a cv directory"):
        init_checkpoint(tiny_cv.cv_dir)
    with pytest.raises(UserError, match="no checkpoint file there"):
        init_checkpoint(tmp_path)


def test_a_run_directory_is_found_from_another_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run trained with the relative output_dir runs/ names its best file relative to where it ran."""
    checkpoints = tmp_path / "elsewhere" / "runs" / "stage1" / "checkpoints"
    checkpoints.mkdir(parents=True)
    best = checkpoints / "best_checkpoint_2_val_acc=0.5000.pt"
    torch.save({"model": {}}, best)
    relative = "runs/stage1/checkpoints/best_checkpoint_2_val_acc=0.5000.pt"
    (checkpoints.parent / "results.json").write_text(json.dumps({"best_checkpoint": relative}), encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # not the folder the run was trained in
    assert init_checkpoint(checkpoints.parent) == best
