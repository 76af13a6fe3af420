"""The matplotlib pictures: images pasted pixel for pixel, curves and confusion matrix not blank, atomic files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ignite_fire.pictures.drawing import GalleryItem, plot_confusion_matrix, plot_curves, plot_gallery, to_uint8_image
from tests.pictures.picture_checks import assert_picture


def test_to_uint8_image_rounds_and_moves_channels_last() -> None:
    image = torch.tensor([[[0.0, 1.0]], [[0.5, 0.25]], [[1.2, -0.1]]])  # (3, 1, 2)
    array = to_uint8_image(image)
    assert array.shape == (1, 2, 3) and array.dtype == np.uint8
    assert array[0, 0].tolist() == [0, 128, 255] and array[0, 1].tolist() == [255, 64, 0]
    assert to_uint8_image(torch.zeros(1, 4, 4)).shape == (4, 4, 3)  # grey becomes RGB


def test_gallery_images_are_pasted_pixel_for_pixel(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (8, 8, 3), dtype=np.uint8) for _ in range(2)]
    items = [GalleryItem(images[0], "a", "a", 0.9), GalleryItem(images[1], "a", "b", 0.6)]
    with Image.open(plot_gallery(items, tmp_path / "gallery.png", columns=2, tile=16)) as picture:
        pixels = np.asarray(picture.convert("RGB"))
    top, pad = 4 + 34, 10  # no title: 4 px, then the caption above each tile
    for column, image in enumerate(images):
        left = pad + column * (16 + pad)
        expected = image.repeat(2, axis=0).repeat(2, axis=1)  # 8 px scaled to 16 px by repeating pixels
        assert np.array_equal(pixels[top : top + 16, left : left + 16], expected)


def test_curves_and_confusion_matrix_pictures(tmp_path: Path) -> None:
    history = [
        {
            "epoch": e,
            "train_loss": 1 / e,
            "val_loss": 1.2 / e,
            "val_acc": 0.5 + e / 10,
            "val_macro_f1": 0.4 + e / 10,
            "val_score": 3 + e / 5,
            "train_acc": 0.6,
            "lr": 0.01 / e,
        }
        for e in (1, 2, 3)
    ]
    assert_picture(plot_curves(history, tmp_path / "curves.png", best_epoch=3, title="run"))
    assert_picture(plot_curves(history[:1], tmp_path / "one.png"))  # after the first epoch
    counts = plot_confusion_matrix(torch.tensor([[5, 1], [0, 0]]), ["a", "b"], tmp_path / "cm.png")
    assert_picture(counts)  # a class with no images gives a row of zeros, not NaN
    assert not list(tmp_path.glob(".*.tmp")), "temporary files are renamed away"
