"""Decompression bombs (images over PIL's pixel limit) are one-line bad-image errors, and skippable."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from ignite_fire.data.images import BadImageError, load_image
from ignite_fire.data.sources import find_unreadable
from ignite_fire.inference.predict import PredictDataset


@pytest.fixture
def low_pixel_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A limit of 500 pixels: a 24x24 image is over it (PIL warns), a 32x32 one over twice it (PIL raises)."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)


@pytest.mark.parametrize("side", [24, 32])
def test_a_decompression_bomb_is_a_one_line_error_naming_the_file(
    tmp_path: Path, low_pixel_limit: None, side: int
) -> None:
    path = tmp_path / "bomb.png"
    Image.new("1", (side, side)).save(path)
    with pytest.raises(BadImageError) as caught:
        load_image(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message and "--on_bad_image=skip" in message


def test_on_bad_image_skip_skips_a_decompression_bomb(tmp_path: Path, low_pixel_limit: None) -> None:
    Image.new("RGB", (16, 16)).save(tmp_path / "good.png")
    Image.new("1", (32, 32)).save(tmp_path / "bomb.png")
    bad = find_unreadable([str(tmp_path / "good.png"), str(tmp_path / "bomb.png")])  # what training's skip uses
    assert [path for path, _ in bad] == [str(tmp_path / "bomb.png")]
    dataset = PredictDataset(tmp_path, ["good.png", "bomb.png"], lambda image: image.size, skip_bad=True)
    assert dataset[0] == (0, (16, 16), None)
    index, image, error = dataset[1]
    assert (index, image) == (1, None) and "bomb.png" in str(error)
