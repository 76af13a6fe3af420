"""freeze_epochs: the head alone first, then everything; resumable in the middle of the frozen stage."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ignite.engine import Engine, Events

from ignite_fire.experiment import load_experiment
from ignite_fire.handlers.checkpoints import load_checkpoint
from ignite_fire.handlers.freeze_backbone import FreezeBackbone
from ignite_fire.training import train
from tests.helpers import TINY_EXPERIMENT


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(run_dir / "checkpoints" / "last.pt")["model"]


def run(digits_dir: Path, out: Path, **extra: object) -> dict:
    overrides = {
        "data_dir": str(digits_dir),
        "output_dir": str(out),
        "name": "frozen",
        "epochs": 3,
        "freeze_epochs": 2,
        "wandb_mode": "disabled",
        "optimizer": "AdamW",
        "weight_decay": 0.1,
        **extra,
    }
    return train(load_experiment(TINY_EXPERIMENT, overrides))


@pytest.mark.slow
def test_a_run_resumed_in_the_frozen_stage_stays_frozen_then_unfreezes(digits_dir: Path, tmp_path: Path) -> None:
    assert run(digits_dir, tmp_path, stop_after_iteration=4)["status"] == "stopped"
    checkpoint = load_checkpoint(tmp_path / "frozen" / "checkpoints" / "last.pt")
    assert checkpoint["freeze_backbone"] == {"epochs": 2, "frozen": True}
    early = weights(tmp_path / "frozen")
    assert run(digits_dir, tmp_path, resume="auto", stop_after_epoch=2)["status"] == "stopped"
    frozen = weights(tmp_path / "frozen")
    head, backbone = "9.weight", ["0.weight", "1.weight", "4.weight"]  # the Linear head; convs and a norm
    assert not torch.equal(frozen[head], early[head])  # the head trained on
    assert all(torch.equal(frozen[k], early[k]) for k in backbone)  # the backbone did not, not even weight decay
    assert run(digits_dir, tmp_path, resume="auto")["status"] == "finished"
    final = weights(tmp_path / "frozen")
    assert all(not torch.equal(final[k], frozen[k]) for k in backbone)  # epoch 3 trained everything


def test_the_handler_freezes_by_epoch_number() -> None:
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.Linear(4, 2))
    freeze = FreezeBackbone(model, epochs=1)
    engine = Engine(lambda e, b: None)
    freeze.attach(engine)
    seen = []
    engine.add_event_handler(Events.EPOCH_STARTED, lambda e: seen.append(model[0].weight.requires_grad))
    engine.run([0], max_epochs=3)
    assert seen == [False, True, True] and model[2].weight.requires_grad
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        FreezeBackbone(model, epochs=0)
