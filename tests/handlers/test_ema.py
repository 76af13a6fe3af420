"""ModelEMA: the average follows the formula with timm's warm-up, and a run with ema_decay validates and
checkpoints the EMA weights (with MixUp/CutMix and the imbalance switches on)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ignite.engine import Engine
from torch import nn

from ignite_fire.experiment import load_experiment
from ignite_fire.handlers.ema import ModelEMA
from ignite_fire.training import train
from tests.helpers import TINY_EXPERIMENT


def test_ema_follows_the_formula_with_warmup() -> None:
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    ema = ModelEMA(model, decay=0.9)

    def step(engine: Engine, _) -> None:
        with torch.no_grad():
            model.weight.fill_(float(engine.state.iteration))

    trainer = Engine(step)
    ema.attach(trainer)
    trainer.run([0] * 20, max_epochs=1)
    expected = 0.0
    for t in range(1, 21):
        decay = min(0.9, (1 + t) / (10 + t))
        expected = decay * expected + (1 - decay) * t
    assert ema.ema_model.weight.item() == pytest.approx(expected, rel=1e-5)
    assert model.weight.item() == 20.0

    other = ModelEMA(nn.Linear(1, 1, bias=False), decay=0.9)
    other.load_state_dict(ema.state_dict())
    assert other.ema_model.weight.item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("decay", [0, 1, 1.5, True])
def test_ema_decay_must_be_between_0_and_1(decay) -> None:
    with pytest.raises(ValueError, match=r"Argument decay should be a number between 0 and 1 \(e.g. 0.999\)"):
        ModelEMA(nn.Linear(1, 1), decay)


@pytest.mark.slow
def test_run_with_ema_checkpoints_the_ema_weights(digits_dir: Path, tmp_path: Path) -> None:
    overrides = {
        "data_dir": str(digits_dir),
        "output_dir": str(tmp_path),
        "name": "ema",
        "epochs": 1,
        "ema_decay": 0.9,
        "mixup_alpha": 0.2,
        "cutmix_alpha": 1.0,
        "class_weights": "auto",
        "label_smoothing": 0.1,
        "sampler": "balanced",
        "checkpoint_metric": "val_macro_f1",
        "wandb_mode": "disabled",
    }
    results = train(load_experiment(TINY_EXPERIMENT, overrides))
    assert results["status"] == "finished" and 0 <= results["val_macro_f1"] <= 1
    best = torch.load(results["best_checkpoint"], map_location="cpu", weights_only=True)
    last = torch.load(results["last_checkpoint"], map_location="cpu", weights_only=True)
    weight = "0.weight"  # the first convolution
    assert torch.equal(best["model"][weight], last["ema_model"][weight])
    assert not torch.equal(best["model"][weight], last["model"][weight])
