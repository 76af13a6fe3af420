"""explain: Grad-CAM overlays of a checkpoint's predictions for any folder of images."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ignite_fire.errors import UserError
from ignite_fire.inference.explain import explain
from tests.helpers import TINY_EXPERIMENT, run_cli, train_tiny_run

EXPERIMENT = str(TINY_EXPERIMENT)  # defines its own build_model: imported only when named
pytest.importorskip("pytorch_grad_cam", reason="Grad-CAM needs the grad-cam package (pip install -e .[explain])")


@pytest.fixture(scope="module")
def tiny_run(digits_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny_run(digits_dir, tmp_path_factory.mktemp("explain-runs"))


@pytest.mark.slow
def test_explain_writes_an_overlay_per_image(tiny_run: Path, digits_dir: Path, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    (photos / "more").mkdir(parents=True)
    shutil.copy(sorted((digits_dir / "val" / "3").iterdir())[0], photos / "a.png")
    shutil.copy(sorted((digits_dir / "val" / "7").iterdir())[0], photos / "more" / "b.png")

    output = f"--output={tmp_path / 'cam'}"
    result = run_cli("explain", str(tiny_run), f"--input={photos}", output, f"--experiment={EXPERIMENT}")

    assert result.returncode == 0, result.stderr
    assert "Grad-CAM of 6" in result.stdout  # the tiny CNN's last ReLU, before its global pooling
    for name in ("a.png", "more/b.png"):
        with Image.open(tmp_path / "cam" / name) as overlay:
            pixels = np.asarray(overlay)
        assert pixels.shape[1] == 384 and pixels.shape[0] > 384 and pixels.std() > 5  # scaled up, captioned
    assert "wrote 2 Grad-CAM overlays" in result.stdout


@pytest.mark.slow
def test_explain_mistakes_are_one_line_errors(tiny_run: Path, digits_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="explain needs --input=DIR"):
        explain(str(tiny_run))
    with pytest.raises(UserError, match=r"--target='cat' is not a class of .*: choose one of \['0', '1'"):
        explain(str(tiny_run), input=str(digits_dir / "val"), target="cat", output=str(tmp_path), experiment=EXPERIMENT)


def test_explain_refuses_to_write_its_overlays_over_the_input_images(tiny_run: Path, digits_dir: Path, tmp_path: Path):
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(sorted((digits_dir / "val" / "3").iterdir())[0], photos / "a.png")
    before = (photos / "a.png").read_bytes()
    for output in (photos, photos / "cam"):
        with pytest.raises(UserError) as caught:
            explain(str(tiny_run), input=str(photos), output=str(output), experiment=EXPERIMENT)
        relation = "is the input given as" if output == photos else "is inside the input"
        assert str(caught.value) == f"--output={output} {relation} --input={photos}: choose another --output"
    assert (photos / "a.png").read_bytes() == before and [p.name for p in photos.iterdir()] == ["a.png"]


def test_explain_layer_must_be_a_conv_layer(tiny_run: Path, digits_dir: Path, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(sorted((digits_dir / "val" / "3").iterdir())[0], photos / "a.png")
    output = tmp_path / "cam"
    with pytest.raises(UserError) as caught:  # "9" is the tiny CNN's Linear head, "8" its Flatten
        explain(str(tiny_run), input=str(photos), output=str(output), layer="9", experiment=EXPERIMENT)
    assert str(caught.value) == (
        "--layer='9' is a Linear without an (N, C, H, W) output: Grad-CAM needs a conv layer; "
        "pick one of the last conv layers (5, 6, 7), or leave --layer out"
    )
    assert not output.exists()
    result = explain(str(tiny_run), input=str(photos), output=str(output), layer="4", experiment=EXPERIMENT)
    assert result["layer"] == "4" and (output / "a.png").is_file()  # a conv layer is taken as it is


def test_explain_checks_its_arguments_before_loading_the_checkpoint(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-run")  # never read: every check below comes first
    with pytest.raises(UserError, match="explain needs --input=DIR"):
        explain(missing)
    with pytest.raises(UserError, match="--input folder not found: .*photos"):
        explain(missing, input=str(tmp_path / "photos"))
    with pytest.raises(UserError, match="--batch_size must be a positive integer, got 0"):
        explain(missing, input=str(tmp_path), batch_size=0)
