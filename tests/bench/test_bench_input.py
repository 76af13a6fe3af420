"""``bench input``: decode + resize, the training pipeline (plain vs draft) and the memory cache, on one core."""

from __future__ import annotations

from pathlib import Path

import pytest

from ignite_fire.bench.input import input_pipeline
from ignite_fire.errors import UserError


def test_input_mode_times_plain_draft_and_the_cache(digits_dir: Path) -> None:
    result = input_pipeline(data=str(digits_dir / "val"), image_size=16, batch_size=8, repeats=1, limit=16)
    assert result["images"] == 16
    for key in ("decode_resize", "train_pipeline"):
        assert result[key]["plain"] > 0 and result[key]["draft"] > 0
    assert result["cache"]["later_epochs"] > 0 and result["cache"]["vs_plain"] > 0


def test_input_mode_without_images_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no images under"):
        input_pipeline(data=str(tmp_path))
