"""The shipped recipes run on the CPU without pretrained weights (tiny images, a few iterations)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ignite_fire.experiment import load_experiment
from ignite_fire.training import train
from tests.helpers import REPO
from tests.tianchi_data import TIANCHI_CLASSES, digits_sources, write_tianchi


@pytest.fixture(scope="module")
def tianchi(digits_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    per_class = dict.fromkeys(TIANCHI_CLASSES, 8)
    return write_tianchi(tmp_path_factory.mktemp("tianchi"), digits_sources(digits_dir), per_class, size=32)


@pytest.mark.slow  # two steps only, but of ResNet-50 and ConvNeXt-T on the CPU: ~10 s of the fast tier
@pytest.mark.parametrize("experiment", ["resnet50_focal.py", "convnext_finetune.py"])
def test_the_recipe_trains_a_few_iterations(experiment: str, tianchi: Path, tmp_path: Path) -> None:
    overrides = {
        "pretrained": False,
        "data_dir": str(tianchi),
        "output_dir": str(tmp_path),
        "name": "recipe",
        "image_size": 32,
        "batch_size": 8,
        "stop_after_iteration": 2,
        "device": "cpu",
        "num_workers": 0,
        "wandb_mode": "disabled",
        "plots": False,
        "watch": None,
    }
    results = train(load_experiment(REPO / "experiments" / experiment, overrides))
    assert results["status"] == "stopped" and results["classes"] == TIANCHI_CLASSES
    config = json.loads((tmp_path / "recipe" / "config.json").read_text(encoding="utf-8"))
    if experiment == "convnext_finetune.py":
        assert config["model"] == "timm/convnext_tiny.fb_in22k" and config["layer_decay"] == 0.75
        assert config["augment"] == "trivialaugment" and config["random_erasing"] > 0 and config["ema_decay"]
