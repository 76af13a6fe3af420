"""Demo data in the layouts the docs use, from scikit-learn's bundled digits (real scans, no download).

    python -m ignite_fire demo-data                      # data/demo/folder/ and data/demo/tianchi/
    python -m ignite_fire demo-data --layout=tianchi --output=data/demo

Five digit classes stand for the five classes of the Tianchi fire-safety competition, imbalanced as
there (高风险, the class that weighs most in the score, is the rarest):

* ``folder``: an ImageFolder, ``train/<class>/*.png`` and ``val/<class>/*.png``;
* ``tianchi``: the competition's layout, as :mod:`ignite_fire.data.sources` (training) and
  ``predict`` read it: ``train.txt`` (``file_name<TAB>class`` lines, UTF-8) with the images in
  ``train/``; the test images in ``A/`` with ``A.txt`` naming them in submission order; and
  ``A_labels.txt``, their true classes, to score a submission with.

The test images of ``tianchi`` are the validation images of ``folder``. Nothing is written into a
folder that is not empty unless this function wrote it (it leaves a ``.demo-data`` file there).
"""

from __future__ import annotations

import logging
import random
import shutil
from pathlib import Path

import numpy as np

from ignite_fire.data.digits import digit_image
from ignite_fire.errors import UserError

logger = logging.getLogger("ignite_fire")

LAYOUTS = ("folder", "tianchi")
MARKER = ".demo-data"
# class -> (digit, training images); the held-out (val / A) images are TEST_PER_CLASS per class.
CLASSES: dict[str, tuple[int, int]] = {
    "高风险": (0, 30),
    "中风险": (1, 60),
    "低风险": (2, 120),
    "无风险": (3, 150),
    "非楼道": (4, 90),
}
TEST_PER_CLASS = 20


def _split(seed: int) -> dict[str, tuple[list[int], list[int]]]:
    """class -> (training scan indices, held-out scan indices), drawn with ``seed``."""
    from sklearn.datasets import load_digits

    targets = load_digits().target
    rng = np.random.default_rng(seed)
    chosen = {}
    for name, (digit, n_train) in CLASSES.items():
        indices = np.flatnonzero(targets == digit)
        rng.shuffle(indices)
        chosen[name] = (indices[:n_train].tolist(), indices[n_train : n_train + TEST_PER_CLASS].tolist())
    return chosen


def _write_folder(root: Path, split: dict[str, tuple[list[int], list[int]]], scans: np.ndarray, size: int) -> None:
    for name, (train, held_out) in split.items():
        for part, indices in (("train", train), ("val", held_out)):
            folder = root / part / name
            folder.mkdir(parents=True)
            for index in indices:
                digit_image(scans[index], size).save(folder / f"digit{index:04d}.png")


def _write_tianchi(
    root: Path, split: dict[str, tuple[list[int], list[int]]], scans: np.ndarray, size: int, seed: int
) -> None:
    (root / "train").mkdir(parents=True)
    (root / "A").mkdir()
    train_lines, test_entries = [], []
    for name, (train, held_out) in split.items():
        for index in train:
            digit_image(scans[index], size).save(root / "train" / f"{index:04d}.jpg", quality=95)
            train_lines.append(f"{index:04d}.jpg\t{name}\n")
        for index in held_out:
            digit_image(scans[index], size).save(root / "A" / f"{index:04d}.jpg", quality=95)
            test_entries.append((f"{index:04d}.jpg", name))
    rng = random.Random(seed)
    rng.shuffle(train_lines)
    rng.shuffle(test_entries)  # the submission order is not the sorted order, as in the competition
    (root / "train.txt").write_text("".join(train_lines), encoding="utf-8")
    (root / "A.txt").write_text("".join(f"{file}\n" for file, _ in test_entries), encoding="utf-8")
    (root / "A_labels.txt").write_text("".join(f"{file}\t{name}\n" for file, name in test_entries), encoding="utf-8")


def _claim(output: Path) -> None:
    """Make ``output`` ours: it must not exist, be empty, or hold a ``.demo-data`` file."""
    if output.exists() and not output.is_dir():
        raise UserError(f"--output={output} is a file, not a folder: pass another --output")
    if output.is_dir() and not (output / MARKER).is_file() and any(output.iterdir()):
        raise UserError(f"--output={output} is not empty and demo-data did not write it: pass another --output")
    output.mkdir(parents=True, exist_ok=True)
    (output / MARKER).write_text("written by python -m ignite_fire demo-data\n", encoding="utf-8")


def demo_data(output: str | Path = "data/demo", layout: str = "all", size: int = 32, seed: int = 0) -> dict[str, Path]:
    """Write demo data from scikit-learn's digits: an ImageFolder and a Tianchi-layout set (no download).

    OUTPUT/folder/ holds train/<class>/ and val/<class>/; OUTPUT/tianchi/ holds train.txt with train/,
    and the test images A/ with A.txt (their order) and A_labels.txt (their classes). Five digits stand
    for the competition's five classes, imbalanced as there. A non-empty OUTPUT it did not write is refused.
    A layout already written there is kept as it is; each is written into a temporary folder beside it
    and renamed when complete, so an interrupted call leaves no half-written set. Returns layout -> folder.

    Args:
        output: the folder to write into (created; a layout already written there is kept).
        layout: "all", "folder" (ImageFolder) or "tianchi" (train.txt + train/, A.txt + A/).
        size: the side of the written images, in pixels.
        seed: which images go to training and which are held out.
    """
    wanted = LAYOUTS if layout == "all" else (layout,)
    if layout != "all" and layout not in LAYOUTS:
        raise UserError(f"--layout={layout!r} is not a layout: choose one of all, {', '.join(LAYOUTS)}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 8:
        raise UserError(f"--size={size!r} must be an integer >= 8 (pixels)")
    output = Path(output).expanduser()
    _claim(output)
    from sklearn.datasets import load_digits

    scans = load_digits().images
    split = _split(seed)
    written = {}
    for name in wanted:
        target = output / name
        if target.is_dir():
            logger.info(f"demo-data: {target} is already there: kept")
        else:
            partial = output / f".{name}.partial"
            shutil.rmtree(partial, ignore_errors=True)  # a call interrupted before its rename
            if name == "folder":
                _write_folder(partial, split, scans, size)
            else:
                _write_tianchi(partial, split, scans, size, seed)
            partial.rename(target)
            logger.info(f"demo-data: wrote {target}")
        written[name] = target
    counts = ", ".join(f"{name} {n}" for name, (_, n) in CLASSES.items())
    logger.info(f"demo-data: 5 classes, training images per class {counts}; {TEST_PER_CLASS} held out per class")
    return written
