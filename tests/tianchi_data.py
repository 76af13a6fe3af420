"""Small datasets in the Tianchi fire-safety layout, built from real images for the tests.

    root/train/*.jpg   root/train.txt   ("file_name<TAB>中文标签" lines, UTF-8)
    root/A/*.jpg       root/A.txt       (test images and their submission order)

Each of the five Chinese classes takes its images from one source folder (houses4 photos or
scikit-learn digits); 高风险 is the rare class. Some file names are Chinese too.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path

from PIL import Image

TIANCHI_CLASSES = ["高风险", "中风险", "低风险", "无风险", "非楼道"]
HOUSES_TO_TIANCHI = {"bathroom": "低风险", "bedroom": "无风险", "kitchen": "中风险", "frontal": "非楼道"}


def images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def write_tianchi(
    root: Path,
    sources: Mapping[str, list[Path]],
    per_class: Mapping[str, int],
    test_per_class: int = 2,
    size: int = 48,
    seed: int = 0,
) -> Path:
    """Write a Tianchi-layout dataset under ``root`` (once: an existing copy is reused).

    Args:
        sources: class name -> image files to draw from (in order).
        per_class: class name -> number of training images.
        test_per_class: images per class in ``A/`` (their labels go to ``A_labels.txt`` for checks).
        size: the longer side of the written JPEGs.
    """
    marker = root / ".complete"
    if marker.exists():
        return root
    (root / "train").mkdir(parents=True, exist_ok=True)
    (root / "A").mkdir(parents=True, exist_ok=True)
    train_lines: list[str] = []
    test_entries: list[tuple[str, str]] = []
    for class_index, name in enumerate(sources):
        files = sources[name]
        needed = per_class[name] + test_per_class
        if len(files) < needed:
            raise ValueError(f"{name}: {len(files)} source images, {needed} needed")
        for i, source in enumerate(files[:needed]):
            image = Image.open(source).convert("RGB")
            image.thumbnail((size, size))
            # Every third file gets a Chinese name: UTF-8 file names must work end to end.
            stem = f"图片_{class_index}_{i:03d}" if i % 3 == 0 else f"img_{class_index}_{i:03d}"
            if i < per_class[name]:
                image.save(root / "train" / f"{stem}.jpg", quality=90)
                train_lines.append(f"{stem}.jpg\t{name}")
            else:
                image.save(root / "A" / f"{stem}.jpg", quality=90)
                test_entries.append((f"{stem}.jpg", name))
    rng = random.Random(seed)
    rng.shuffle(train_lines)
    rng.shuffle(test_entries)  # the list order is not the sorted order
    (root / "train.txt").write_text("\n".join(train_lines) + "\n", encoding="utf-8")
    (root / "A.txt").write_text("".join(f"{name}\n" for name, _ in test_entries), encoding="utf-8")
    (root / "A_labels.txt").write_text("".join(f"{n}\t{c}\n" for n, c in test_entries), encoding="utf-8")
    marker.write_text("ok\n")
    return root


def digits_sources(digits_dir: Path) -> dict[str, list[Path]]:
    """The five Tianchi classes drawn from five digit classes of the ``digits_dir`` fixture (train and val)."""
    folders = sorted(p for p in (digits_dir / "train").iterdir() if p.is_dir())[:5]
    return {
        name: images_in(folder) + images_in(digits_dir / "val" / folder.name)
        for name, folder in zip(TIANCHI_CLASSES, folders, strict=True)
    }


def houses4_sources(houses4: Path, digits_dir: Path) -> dict[str, list[Path]]:
    """Four houses4 photo classes under Chinese names, and 高风险 (the rare class) from the digits."""
    sources = {"高风险": images_in(sorted((digits_dir / "train").iterdir())[0])}
    for folder, name in HOUSES_TO_TIANCHI.items():
        sources[name] = images_in(houses4 / "train" / folder)
    return {name: sources[name] for name in TIANCHI_CLASSES}
