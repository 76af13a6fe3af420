"""scikit-learn's bundled handwritten digits (1,797 real 8x8 scans, no download) as an ImageFolder.

Used by ``experiments/quickstart.py`` and by the tests: real images, written as PNG files in
``train/<digit>/`` and ``val/<digit>/`` (a stratified 80/20 split), only into a folder of their own
(new or empty); a finished copy has a ``.complete`` marker and is reused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ignite_fire.errors import UserError

CLASS_NAMES = [str(digit) for digit in range(10)]
COMPLETE = ".complete"  # a finished copy: reused as it is
WRITING = ".digits-writing"  # written first: a copy this module started (and a killed run left half-done)


def claim_folder(root: Path) -> None:
    """Make ``root`` ours to write the digits into: a new or empty folder, or one a killed write left.

    A folder that holds anything else (a user's own photos, say) is refused in one line: the digits
    never go into a folder they do not own.
    """
    if root.exists() and not root.is_dir():
        raise UserError(f"--data_dir={root} is a file: the digits need a folder of their own")
    if root.is_dir() and not (root / WRITING).exists() and any(root.iterdir()):
        raise UserError(
            f"--data_dir={root} already holds other files (not a digits copy, which has a {COMPLETE} marker): "
            "the digits are written only into a new or empty folder; pass another --data_dir"
        )
    root.mkdir(parents=True, exist_ok=True)
    (root / WRITING).write_text("ignite_fire.data.digits\n")


def digit_image(scan: np.ndarray, size: int) -> Image.Image:
    """One 8x8 scan of ``load_digits().images`` (values 0-16) as a ``size`` x ``size`` RGB image."""
    pixels = (scan * (255.0 / 16.0)).astype(np.uint8)
    return Image.fromarray(pixels, mode="L").resize((size, size), Image.Resampling.BILINEAR).convert("RGB")


def write_digits(root: str | Path, size: int = 32, per_class: int | None = None, seed: int = 0) -> Path:
    """Write the digits under ``root`` (once; an existing complete copy is reused). Returns ``root``.

    Args:
        size: side of the written RGB images (upscaled from 8x8 with bilinear filtering).
        per_class: keep only this many images of each class (for small test sets).
    """
    from sklearn.datasets import load_digits

    root = Path(root)
    marker = root / COMPLETE
    if marker.exists():
        return root
    claim_folder(root)
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
    (root / WRITING).unlink(missing_ok=True)
    return root
