"""explain: Grad-CAM overlays of a checkpoint's predictions for any folder of images."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ignite_fire.errors import UserError
from ignite_fire.experiment import load_experiment
from ignite_fire.inference.explain import explain
from ignite_fire.training import train
from tests.conftest import TINY_EXPERIMENT, run_cli

pytest.importorskip("pytorch_grad_cam", reason="Grad-CAM needs the grad-cam package (pip install -e .[explain])")


@pytest.fixture(scope="module")
def tiny_run(digits_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("explain-runs")
    overrides = {"data_dir": str(digits_dir), "output_dir": str(out), "name": "tiny", "epochs": 1}
    overrides |= {"wandb_mode": "disabled", "plots": False}
    return Path(train(load_experiment(TINY_EXPERIMENT, overrides))["run_dir"])


def test_explain_writes_an_overlay_per_image(tiny_run: Path, digits_dir: Path, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    (photos / "more").mkdir(parents=True)
    shutil.copy(sorted((digits_dir / "val" / "3").iterdir())[0], photos / "a.png")
    shutil.copy(sorted((digits_dir / "val" / "7").iterdir())[0], photos / "more" / "b.png")

    result = run_cli("explain", str(tiny_run), f"--input={photos}", f"--output={tmp_path / 'cam'}")

    assert result.returncode == 0, result.stderr
    assert "Grad-CAM of 6" in result.stdout  # the tiny CNN's last ReLU, before its global pooling
    for name in ("a.png", "more/b.png"):
        with Image.open(tmp_path / "cam" / name) as overlay:
            pixels = np.asarray(overlay)
        assert pixels.shape[1] == 384 and pixels.shape[0] > 384 and pixels.std() > 5  # scaled up, captioned
    assert "wrote 2 Grad-CAM overlays" in result.stdout


def test_explain_mistakes_are_one_line_errors(tiny_run: Path, digits_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="explain needs --input=DIR"):
        explain(str(tiny_run))
    with pytest.raises(UserError, match=r"--target='cat' is not a class of .*: choose one of \['0', '1'"):
        explain(str(tiny_run), input=str(digits_dir / "val"), target="cat", output=str(tmp_path))
