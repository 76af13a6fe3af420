"""scikit-learn's bundled handwritten digits (1,797 real 8x8 scans, no download) as an ImageFolder.

Used by ``experiments/quickstart.py`` and by the tests: real images, written as PNG files in
``train/<digit>/`` and ``val/<digit>/`` (a stratified 80/20 split).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CLASS_NAMES = [str(digit) for digit in range(10)]


def digit_image(scan: np.ndarray, size: int) -> Image.Image:
    """One 8x8 scan of ``load_digits().images`` (values 0-16) as a ``size`` x ``size`` RGB image."""
    pixels = (scan * (255.0 / 16.0)).astype(np.uint8)
    return Image.fromarray(pixels, mode="L").resize((size, size), Image.BILINEAR).convert("RGB")


def write_digits(root: str | Path, size: int = 32, per_class: int | None = None, seed: int = 0) -> Path:
    """Write the digits under ``root`` (once; an existing complete copy is reused). Returns ``root``.

    Args:
        size: side of the written RGB images (upscaled from 8x8 with bilinear filtering).
        per_class: keep only this many images of each class (for small test sets).
    """
    from sklearn.datasets import load_digits

    root = Path(root)
    marker = root / ".complete"
    if marker.exists():
        return root
    digits = load_digits()
    rng = np.random.default_rng(seed)
    for label, name in enumerate(CLASS_NAMES):
        indices = np.flatnonzero(digits.target == label)
        rng.shuffle(indices)
        if per_class is not None:
            indices = indices[:per_class]
        n_val = max(1, round(len(indices) * 0.2))
        for split, chosen in (("val", indices[:n_val]), ("train", indices[n_val:])):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for index in chosen:
                digit_image(digits.images[index], size).save(folder / f"digit{index:04d}.png")
    marker.write_text("ok\n")
    return root
