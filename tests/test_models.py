"""A model that does not fit the data is refused at the start, in one line (models.check_model_output)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torch import nn

from ignite_fire.errors import UserError
from ignite_fire.experiment import experiment_from_config
from ignite_fire.models import check_model_name, check_model_output, first_images
from ignite_fire.training import train
from tests import tiny_experiment

IMAGES = torch.randn(2, 3, 16, 16)


class TupleModel(nn.Module):
    """Returns (logits, features), as some detection-style or auxiliary-head models do."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 8))
        self.head = nn.Linear(8, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return self.head(features), features


def linear_model(outputs: int) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.BatchNorm1d(3 * 16 * 16), nn.Linear(3 * 16 * 16, outputs))


def test_a_fitting_model_passes_and_keeps_its_mode_and_statistics() -> None:
    model = linear_model(10)
    before = model[1].running_mean.clone()
    check_model_output(model, IMAGES, 10)
    assert model.training and torch.equal(model[1].running_mean, before)
    model.eval()
    check_model_output(model, IMAGES, 10)
    assert not model.training


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            linear_model(13),
            "build_model's model returns shape (2, 13) for 2 images of shape (3, 16, 16), not (2, 10): "
            "give its head num_classes=10 outputs",
        ),
        (
            TupleModel(10),
            "build_model's model returns a tuple, not a tensor of logits of shape (2, 10): "
            "make its forward return the logits only",
        ),
    ],
)
def test_wrong_outputs_are_one_line_errors(model: nn.Module, message: str) -> None:
    with pytest.raises(UserError) as error:
        check_model_output(model, IMAGES, 10)
    assert str(error.value) == message
    assert model.training  # restored after the failed check


def test_a_model_that_cannot_run_on_the_images_is_a_one_line_error() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(100, 10))
    with pytest.raises(UserError) as error:
        check_model_output(model, IMAGES, 10)
    message = str(error.value)
    assert message.startswith("build_model's model fails on 2 images of shape (3, 16, 16): RuntimeError: ")
    assert "\n" not in message and message.endswith("(check --image_size and the model)")


def test_first_images_of_a_dataset() -> None:
    dataset = [(torch.full((3, 4, 4), float(i)), i) for i in range(5)]
    assert first_images(dataset).shape == (2, 3, 4, 4) and first_images(dataset[:1]).shape == (1, 3, 4, 4)
    assert first_images([({"image": 1}, 0)]) is None  # a custom dataset's items: nothing to check
    check_model_output(linear_model(13), None, 10)


@pytest.mark.parametrize(
    ("name", "size", "message"),
    [
        ("alexnet", 32, "--image_size=32 is too small for alexnet: it needs --image_size >= 63"),
        ("densenet121", 24, "--image_size=24 is too small for densenet121: it needs --image_size >= 29"),
        ("maxvit_t", 256, "--image_size=256 does not fit maxvit_t: it takes 224 px images only"),
        ("resnet18", 16, None),
        ("convnext_tiny", 32, None),
    ],
)
def test_torchvision_image_size_minimum(name: str, size: int, message: str | None) -> None:
    if message is None:
        check_model_name(name, size)
        return
    with pytest.raises(UserError) as error:
        check_model_name(name, size)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("build_model", "message"),
    [
        (lambda config, num_classes: linear_model(13), "returns shape (2, 13) for 2 images of shape (3, 16, 16)"),
        (lambda config, num_classes: TupleModel(num_classes), "returns a tuple, not a tensor of logits"),
    ],
)
def test_a_run_refuses_a_model_that_does_not_fit_before_training(
    digits_dir: Path, tmp_path: Path, build_model, message: str
) -> None:
    config = {
        **tiny_experiment.config,
        "data_dir": str(digits_dir),
        "output_dir": str(tmp_path),
        "name": "m",
        "wandb_mode": "disabled",
    }
    experiment = experiment_from_config("misfit", config, build_model=build_model)
    with pytest.raises(UserError, match=re.escape(message)):
        train(experiment)
    assert not (tmp_path / "m" / "history.json").exists() and not (tmp_path / "m" / "checkpoints").exists()
