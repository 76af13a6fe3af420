"""JPEG draft decoding: large JPEGs decoded at a reduced scale at no visible cost, and where the datasets use it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ignite_fire.config import DEFAULTS
from ignite_fire.data.datasets import build_datasets
from ignite_fire.data.decode import decode_square, draft_size, resize_size
from ignite_fire.data.images import load_image
from ignite_fire.data.transforms import build_transforms


@pytest.fixture(scope="module")
def big_jpeg(digits_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real image (a digit scan) blown up to a 1200 x 900 photo-sized JPEG."""
    source = next((digits_dir / "train").rglob("*.png"))
    path = tmp_path_factory.mktemp("jpeg") / "big.jpg"
    Image.open(source).convert("RGB").resize((1200, 900), Image.BICUBIC).save(path, quality=92)
    return path


def test_draft_decodes_a_large_jpeg_at_a_reduced_scale(big_jpeg: Path) -> None:
    assert load_image(big_jpeg).size == (1200, 900)
    assert load_image(big_jpeg, draft_size=256).size == (600, 450)  # 1/4 would make the short side 225 < 256
    assert load_image(big_jpeg, draft_size=224).size == (300, 225)  # 1/4 scale


def test_draft_keeps_both_sides_at_least_the_draft_size(big_jpeg: Path) -> None:
    for size in (100, 224, 256, 300, 500):
        width, height = load_image(big_jpeg, draft_size=size).size
        assert min(width, height) >= size
        assert min(width, height) < 2 * size or (width, height) == (1200, 900)


def test_draft_and_full_decoding_give_nearly_the_same_resized_image(big_jpeg: Path) -> None:
    full = decode_square(big_jpeg, 256, 224, draft=False).astype(np.float32)
    drafted = decode_square(big_jpeg, 256, 224, draft=True).astype(np.float32)
    assert full.shape == drafted.shape == (256, 256, 3)
    assert np.abs(full - drafted).mean() < 3.0  # out of 255


def test_png_is_decoded_in_full_whatever_the_draft_size(digits_dir: Path) -> None:
    png = next((digits_dir / "val").rglob("*.png"))
    assert load_image(png, draft_size=4).size == load_image(png).size


def test_datasets_decode_at_the_eval_resize_size_unless_jpeg_draft_is_off(digits_dir: Path) -> None:
    config = {**DEFAULTS, "data_dir": str(digits_dir), "image_size": 224, "seed": 0}
    assert resize_size(224) == 256
    splits = build_datasets(config, build_transforms(config))
    assert (
        splits.train.draft_size
        == splits.val.draft_size
        == draft_size(config["image_size"], config["jpeg_draft"])
        == 256
    )
    config["jpeg_draft"] = False
    splits = build_datasets(config, build_transforms(config))
    assert splits.train.draft_size is None and splits.val.draft_size is None


def test_draft_decodes_camera_photos_at_half_scale_to_the_same_resized_image(houses4_original: Path) -> None:
    """Real photos large enough for a 1/2-scale draft (shorter side >= 448 px): a quarter of the pixels to decode.

    That is where the speed comes from; ``python -m ignite_fire bench input`` measures it (tests/bench).
    """
    import torchvision.transforms.functional as F

    paths = [p for p in sorted(houses4_original.rglob("*.jpg")) if min(Image.open(p).size) >= 600][:16]
    assert len(paths) == 16
    for path in paths:
        full, drafted = load_image(path), load_image(path, 224)
        assert drafted.size == ((full.size[0] + 1) // 2, (full.size[1] + 1) // 2), path  # libjpeg's 1/2 scale
        plain = np.asarray(F.resize(full, 224, antialias=True), dtype=np.float32)
        fast = np.asarray(F.resize(drafted, 224, antialias=True), dtype=np.float32)
        assert plain.shape == fast.shape
        assert np.abs(plain - fast).mean() < 3.0, path  # out of 255
