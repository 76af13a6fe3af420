"""TTA: flips, scales and five crops, combined; in predict and (opt-in) at validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from ignite_fire.errors import UserError
from ignite_fire.experiment import load_experiment
from ignite_fire.inference.predict import predict
from ignite_fire.inference.tta import TTAModel, parse_modes, tta_probabilities, tta_views
from ignite_fire.training import train
from tests.helpers import TINY_EXPERIMENT


def small_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)).eval()


@pytest.mark.parametrize(
    ("modes", "count", "sizes"),
    [
        ("hflip", 2, {16}),
        ("hflip,scales", 6, {14, 16, 18}),
        ("five_crop", 5, {16}),
        ("hflip,scales,five_crop", 30, {14, 16, 18}),
    ],
)
def test_the_views_are_the_product_of_the_modes(modes: str, count: int, sizes: set[int]) -> None:
    views = list(tta_views(torch.rand(2, 3, 16, 16), parse_modes(modes), (0.875, 1.0, 1.125)))
    assert len(views) == count and {v.shape[-1] for v in views} == sizes


def test_probabilities_are_the_mean_softmax_over_the_views() -> None:
    model, images = small_model(), torch.rand(4, 3, 16, 16)
    with torch.no_grad():
        expected = (model(images).softmax(1) + model(images.flip(3)).softmax(1)) / 2
        assert torch.allclose(tta_probabilities(model, images, "hflip"), expected, atol=1e-6)
        crops = tta_probabilities(model, images, ("five_crop",))
        corner = model(nn.functional.interpolate(images[..., :14, :14], size=16, mode="bilinear", antialias=True))
        assert not torch.allclose(crops, model(images).softmax(1)) and crops.shape == corner.shape
        log_probabilities = TTAModel(model, ["hflip", "scales"], [0.875, 1.0])(images)
        assert torch.allclose(log_probabilities.exp().sum(1), torch.ones(4), atol=1e-5)


def test_modes_come_as_text_or_as_the_tuple_fire_makes() -> None:
    assert parse_modes(("hflip", "scales")) == parse_modes("hflip,scales") == ("hflip", "scales")
    assert parse_modes(None) == parse_modes("none") == ()
    with pytest.raises(UserError, match="unknown mode 'vflip'"):
        parse_modes("hflip,vflip")
    for scales in ([0.0], [0.01], [1.0, 10.0], ["big"]):  # a 0.01 view of an 8 px image would be 1 px
        with pytest.raises(UserError, match=r"--tta_scales must be numbers from 0.25 to 4.0"):
            tta_probabilities(small_model(), torch.rand(1, 3, 8, 8), "scales", scales)


@pytest.mark.slow
def test_validation_and_predict_use_tta(digits_dir: Path, tmp_path: Path) -> None:
    overrides = {
        "data_dir": str(digits_dir),
        "output_dir": str(tmp_path),
        "name": "tta",
        "epochs": 1,
        "tta": "hflip,scales",
        "tta_scales": [0.875, 1.0],
        "wandb_mode": "disabled",
    }
    results = train(load_experiment(TINY_EXPERIMENT, overrides))
    history = json.loads((tmp_path / "tta" / "history.json").read_text())
    assert results["status"] == "finished" and 0 < history[-1]["val_loss"] < 10
    checkpoint, images = results["best_checkpoint"], str(digits_dir / "val")
    rebuild = str(TINY_EXPERIMENT)  # its own build_model: imported only when named
    plain = predict(
        checkpoint,
        input=images,
        output=str(tmp_path / "a.txt"),
        probabilities=str(tmp_path / "a.csv"),
        experiment=rebuild,
    )
    both = predict(
        checkpoint,
        experiment=rebuild,
        input=images,
        output=str(tmp_path / "b.txt"),
        probabilities=str(tmp_path / "b.csv"),
        tta=("hflip", "five_crop"),  # as python-fire passes --tta=hflip,five_crop
    )
    assert plain["images"] == both["images"] > 0
    assert (tmp_path / "a.csv").read_text() != (tmp_path / "b.csv").read_text()  # the views changed the numbers
