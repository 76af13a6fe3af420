"""The measurement behind docs/audit.md's table: planted problems in a Tianchi-layout copy of houses4's
training photos, and how many of each the audit's hashing finds at each threshold (no training).

    python tests/audit/measure_thresholds.py SHARED_DATA_DIR WORK_DIR

Planted: 30 duplicates re-encoded (JPEG quality 40-80, 50-90 % size), 15 also cropped by 5 % per side;
conflicts (a copy under another label), 15 re-encoded and 8 cropped; test leaks, 15 and 7; and the 400
validation photos (other houses) as clean test images.
"""

from __future__ import annotations

import random
import shutil
import sys
from pathlib import Path

from PIL import Image

from ignite_fire.audit.duplicates import duplicate_groups
from ignite_fire.audit.hashing import hash_images
from ignite_fire.audit.leaks import find_leaks
from tests.tianchi_data import HOUSES_TO_TIANCHI

KINDS = ("reencode", "crop")
PLANTED = [f"{what}_{kind}" for what in ("dup", "conflict", "leak") for kind in KINDS]


def variant(source: Path, target: Path, kind: str, rng: random.Random) -> None:
    image = Image.open(source).convert("RGB")
    if kind == "crop":
        w, h = image.size
        image = image.crop((w // 20, h // 20, w - w // 20, h - h // 20))
    scale = rng.uniform(0.5, 0.9)
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BICUBIC)
    image.save(target, quality=rng.randint(40, 80))


def build(houses4: Path, root: Path, rng: random.Random) -> None:
    shutil.rmtree(root, ignore_errors=True)
    (root / "train").mkdir(parents=True)
    (root / "A").mkdir()
    lines, files = [], []
    for folder, label in HOUSES_TO_TIANCHI.items():
        for path in sorted((houses4 / "train" / folder).glob("*.jpg")):
            shutil.copyfile(path, root / "train" / path.name)
            lines.append(f"{path.name}\t{label}")
            files.append((path.name, label))
    picks = rng.sample(files, 90)
    spans = {"reencode": ((0, 30), (45, 60), (68, 83)), "crop": ((30, 45), (60, 68), (83, 90))}
    for kind in KINDS:
        duplicates, conflicts, leaks = (picks[a:b] for a, b in spans[kind])
        for i, (name, label) in enumerate(duplicates):
            variant(root / "train" / name, root / "train" / f"dup_{kind}_{i}.jpg", kind, rng)
            lines.append(f"dup_{kind}_{i}.jpg\t{label}")
        for i, (name, label) in enumerate(conflicts):
            other = rng.choice([c for c in HOUSES_TO_TIANCHI.values() if c != label])
            variant(root / "train" / name, root / "train" / f"conflict_{kind}_{i}.jpg", kind, rng)
            lines.append(f"conflict_{kind}_{i}.jpg\t{other}")
        for i, (name, _) in enumerate(leaks):
            variant(root / "train" / name, root / "A" / f"leak_{kind}_{i}.jpg", kind, rng)
    for path in sorted((houses4 / "val").glob("*/*.jpg")):
        shutil.copyfile(path, root / "A" / path.name)
    (root / "train.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def prefix(name: str) -> str:
    return "_".join(name.split("_")[:2])


def main(shared: Path, work: Path) -> None:
    root = work / "tianchi"
    build(shared / "houses4", root, random.Random(0))
    train = [root / "train" / line.split("\t")[0] for line in (root / "train.txt").read_text("utf-8").splitlines()]
    test = sorted((root / "A").glob("*.jpg"))
    train_infos = hash_images([str(p) for p in train])
    test_infos = hash_images([str(p) for p in test])
    for threshold in (4, 6, 8, 10, 12, 14):
        found: dict[str, int] = {}
        other_groups = 0
        for group in duplicate_groups(train_infos, threshold):
            if group.size == 1:
                continue
            names = [Path(train_infos[k].path).name for k in group.members]
            planted = [n for n in names if n.startswith(("dup_", "conflict_"))]
            for name in planted:
                found[prefix(name)] = found.get(prefix(name), 0) + 1
            other_groups += not (len(names) == 2 and len(planted) == 1)
        false_leaks = 0
        for leak in find_leaks(test_infos, train_infos, threshold):
            name = Path(test_infos[leak.test].path).name
            if name.startswith("leak_"):
                found[prefix(name)] = found.get(prefix(name), 0) + 1
            else:
                false_leaks += 1
        counts = ", ".join(f"{key} {found.get(key, 0)}" for key in PLANTED)
        print(f"threshold {threshold}: {counts}; other groups {other_groups}; false leaks {false_leaks}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
