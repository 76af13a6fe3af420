"""explain draws at the original size, captions each overlay and writes an index.html (issue 21, item 7)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from torchvision import transforms as T

from ignite_fire.experiment import load_experiment
from ignite_fire.inference.explain import explain
from ignite_fire.pictures.gradcam import heat_over, view_box
from ignite_fire.training import train
from tests.helpers import TINY_EXPERIMENT

pytest.importorskip("pytorch_grad_cam", reason="Grad-CAM needs the grad-cam package (pip install -e .[explain])")


def test_the_view_box_follows_resize_and_centre_crop_back() -> None:
    evaluate = T.Compose([T.Resize(18), T.CenterCrop(16), T.ToTensor()])
    left, top, right, bottom = view_box(evaluate, (400, 200))  # resized to 36x18, then 16x16 from (10, 1)
    assert (left, top, right, bottom) == pytest.approx((400 / 36 * 10, 200 / 18, 400 / 36 * 26, 200 / 18 * 17))
    assert right - left == pytest.approx(bottom - top)  # a square, as the crop
    assert view_box(T.Compose([T.Resize((16, 16)), T.ToTensor()]), (400, 200)) == (0, 0, 400, 200)
    assert view_box(T.Compose([T.RandomRotation(5), T.ToTensor()]), (400, 200)) is None


def test_the_heat_map_covers_only_the_region_the_model_saw() -> None:
    original = Image.new("RGB", (400, 200), (128, 128, 128))
    picture = heat_over(original, np.ones((16, 16), dtype=np.float32), (100, 0, 300, 200))
    assert picture.shape == (200, 400, 3)
    assert (picture[100, 20] == 128).all(), "outside the box: the image as it is"
    assert picture[100, 200, 0] > 100 and picture[100, 200, 2] < 100, "inside: jet's dark red over grey"
    assert heat_over(Image.new("RGB", (32, 16)), np.zeros((4, 4)), None).shape == (192, 384, 3)  # scaled up


@pytest.mark.slow
def test_explain_captions_at_the_original_size_and_writes_an_index(
    digits_dir: Path, tmp_path: Path
) -> None:
    overrides = {"data_dir": str(digits_dir), "output_dir": str(tmp_path), "name": "tiny", "epochs": 1}
    run_dir = Path(train(load_experiment(TINY_EXPERIMENT, overrides | {"loggers": "csv"}))["run_dir"])
    photos = tmp_path / "photos"
    (photos / "3").mkdir(parents=True)
    digit = Image.open(sorted((digits_dir / "val" / "3").iterdir())[0]).convert("RGB")
    digit.resize((480, 320)).save(photos / "3" / "wide.png")  # in a class folder: the true class is known
    digit.save(photos / "plain.png")

    result = explain(str(run_dir), input=str(photos), output=str(tmp_path / "cam"), experiment=str(TINY_EXPERIMENT))

    with Image.open(tmp_path / "cam" / "3" / "wide.png") as overlay:
        pixels = np.asarray(overlay.convert("RGB"))
    band = pixels.shape[0] - 320
    assert pixels.shape[1] == 480 and 0 < band < 100, "the original's size, a caption band above"
    assert (pixels[:band] < 100).any(), "the caption is drawn"
    page = (tmp_path / "cam" / "index.html").read_text(encoding="utf-8")
    assert result["index"] == str(tmp_path / "cam" / "index.html")
    assert 'src="../photos/3/wide.png"' in page and 'src="3/wide.png"' in page and "true 3" in page
    assert page.count("<tr>") == 3 and 'src="plain.png"' in page
