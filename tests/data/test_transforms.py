"""Image loading and transforms: EXIF orientation first, then train/eval transforms at image_size."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from ignite_fire.config import DEFAULTS
from ignite_fire.data.images import load_image
from ignite_fire.data.transforms import IMAGENET_MEAN, IMAGENET_STD, build_transforms


def rotated_photo(digits_dir: Path, path: Path) -> Image.Image:
    """A real digit scan made 40x20 (wide), saved as a JPEG whose EXIF says "rotate 90 degrees" (orientation 6)."""
    source = next((digits_dir / "train").rglob("*.png"))
    image = Image.open(source).convert("RGB").resize((40, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    image.save(path, exif=exif.tobytes(), quality=95)
    return image


def test_exif_orientation_is_applied_when_loading(digits_dir: Path, tmp_path: Path) -> None:
    rotated_photo(digits_dir, tmp_path / "phone.jpg")
    with Image.open(tmp_path / "phone.jpg") as raw:
        assert raw.size == (40, 20)
    image = load_image(tmp_path / "phone.jpg")
    assert image.size == (20, 40) and image.mode == "RGB", "stored wide, shown tall, as the phone took it"


def test_train_and_eval_transforms(digits_dir: Path, tmp_path: Path) -> None:
    rotated_photo(digits_dir, tmp_path / "phone.jpg")
    train, evaluate = build_transforms({**DEFAULTS, "image_size": 24, "color_jitter": 0.3})
    image = load_image(tmp_path / "phone.jpg")
    torch.manual_seed(0)
    assert train(image).shape == (3, 24, 24)
    x = evaluate(image)
    assert x.shape == (3, 24, 24)
    assert torch.equal(x, evaluate(image)), "evaluation is deterministic"
    plain, _ = build_transforms({**DEFAULTS, "image_size": 24})
    assert "ColorJitter" in repr(train) and "ColorJitter" not in repr(plain)
    black = evaluate(Image.new("RGB", (30, 30)))
    assert black[:, 0, 0].tolist() == pytest.approx([-m / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD, strict=True)])
