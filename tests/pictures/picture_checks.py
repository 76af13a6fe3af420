"""The check every picture test makes: the file is a PNG that opens, of a real size, and not one flat colour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def assert_picture(path: Path) -> np.ndarray:
    """``path`` is a PNG that opens, is over 50 px on both sides and is not blank; returns its RGB pixels."""
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    assert min(pixels.shape[:2]) > 50, f"{path.name} is {pixels.shape}"
    assert pixels.std() > 10, f"{path.name} is blank"
    return pixels
