"""The audit loop of docs/audit.md, measured: audit -> cv -> cv --groups -> audit --cv -> cv --exclude.

Builds, in WORK_DIR, a 5-class Tianchi-layout set with planted problems, runs every step as a real CLI
command (``python -m ignite_fire ...`` in WORK_DIR), scores each cv's fold ensemble on a held-out test set
with known labels, and prints what the audit found against what was planted, and the scores.

    OMP_NUM_THREADS=1 PYTHONPATH=. python tools/audit_loop.py HOUSES4_DIR WORK_DIR [--epochs=4] [--seed=0]

The set: four houses4 classes (``tests/tianchi_data.py``'s mapping) of PER_CLASS training photos each, and
高风险, the rare class, from scikit-learn's digits (as the tests do: houses4 has four classes). Planted:
* LEAKS training photos re-encoded (another JPEG quality and size) into the test folder A/;
* DUPLICATES re-encoded copies inside train/, SAME_LABEL of them under the photo's own label, the rest
  under another label (conflicts);
* FLIPS training photos whose label in train.txt is another houses4 class.
The held-out test set is TEST_PER_CLASS photos per class from houses4's val/ (digits not in training for
高风险), in A/ beside the leaks; only those are scored (the leaks are copies of training photos).
The ground truth is written to WORK_DIR/truth.json, the results to WORK_DIR/results.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.tianchi_data import HOUSES_TO_TIANCHI, TIANCHI_CLASSES, images_in  # noqa: E402

PER_CLASS = 100  # training photos per houses4 class
RARE = 40  # training digits of 高风险
TEST_PER_CLASS = 20
LEAKS = 15
DUPLICATES = 15
SAME_LABEL = 9  # of DUPLICATES; the other 6 are conflicts
FLIPS = 20
SIZE = 160  # the longer side of the written photos


def reencode(source: Path, target: Path, quality: int, scale: float) -> None:
    """A copy at another JPEG quality and size: what a second upload of one photo looks like."""
    with Image.open(source) as image:
        image = image.convert("RGB")
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image.resize(size, Image.Resampling.BICUBIC).save(target, quality=quality)


def write_photo(source: Path, target: Path) -> None:
    with Image.open(source) as image:
        image = image.convert("RGB")
        image.thumbnail((SIZE, SIZE))
        image.save(target, quality=90)


def build(houses4: Path, work: Path, seed: int) -> dict:
    """Write work/data/tianchi (train/, train.txt, A/, A.txt) and return the ground truth."""
    from ignite_fire.data.digits import write_digits

    root = work / "data" / "tianchi"
    (root / "train").mkdir(parents=True)
    (root / "A").mkdir()
    digits = write_digits(work / "digits", size=32, per_class=RARE + TEST_PER_CLASS)
    rng = random.Random(seed)
    labels: dict[str, str] = {}  # training file -> label in train.txt
    true: dict[str, str] = {}  # training file -> its true class
    sources = {"高风险": images_in(digits / "train" / "0") + images_in(digits / "val" / "0")}
    for folder, name in HOUSES_TO_TIANCHI.items():
        sources[name] = images_in(houses4 / "train" / folder)
    for c, name in enumerate(TIANCHI_CLASSES):
        count = RARE if name == "高风险" else PER_CLASS
        for i, source in enumerate(sources[name][:count]):
            file = f"{'图片' if i % 3 == 0 else 'img'}_{c}_{i:03d}.jpg"
            write_photo(source, root / "train" / file)
            labels[file] = true[file] = name
    houses = [f for f in labels if labels[f] != "高风险"]
    chosen = rng.sample(houses, LEAKS + DUPLICATES + FLIPS)  # disjoint: each photo carries one problem
    leak_sources, dup_sources, flip_files = chosen[:LEAKS], chosen[LEAKS : LEAKS + DUPLICATES], chosen[-FLIPS:]
    flipped = {}
    for file in flip_files:
        labels[file] = rng.choice([n for n in HOUSES_TO_TIANCHI.values() if n != true[file]])
        flipped[file] = {"given": labels[file], "true": true[file]}
    duplicates, conflicts = [], []
    for k, source in enumerate(dup_sources):
        copy = f"copy_{k:02d}.jpg"
        reencode(
            root / "train" / source, root / "train" / copy, quality=rng.randint(40, 80), scale=rng.uniform(0.5, 0.9)
        )
        if k < SAME_LABEL:
            labels[copy] = true[copy] = true[source]
            duplicates.append([source, copy])
        else:
            labels[copy] = rng.choice([n for n in HOUSES_TO_TIANCHI.values() if n != true[source]])
            true[copy] = true[source]
            conflicts.append([source, copy])
    # The test folder: the leaks and the held-out photos, under neutral names in a shuffled order.
    test: list[tuple[Path | None, str, str | None]] = []  # (source photo, true class, leaked training file)
    for source in leak_sources:
        test.append((None, true[source], source))
    val_sources = {"高风险": sources["高风险"][RARE:]}
    for folder, name in HOUSES_TO_TIANCHI.items():
        val_sources[name] = images_in(houses4 / "val" / folder)
    for name in TIANCHI_CLASSES:
        test += [(p, name, None) for p in val_sources[name][:TEST_PER_CLASS]]
    rng.shuffle(test)
    leaks, held_out = {}, {}
    for k, (source, name, leaked) in enumerate(test):
        file = f"t_{k:03d}.jpg"
        if leaked is not None:
            reencode(
                root / "train" / leaked, root / "A" / file, quality=rng.randint(40, 80), scale=rng.uniform(0.5, 0.9)
            )
            leaks[file] = leaked
        else:
            assert source is not None
            write_photo(source, root / "A" / file)
            held_out[file] = name
    lines = [f"{f}\t{labels[f]}" for f in labels]
    rng.shuffle(lines)
    (root / "train.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "A.txt").write_text("".join(f"t_{k:03d}.jpg\n" for k in range(len(test))), encoding="utf-8")
    (work / "held_out.txt").write_text("".join(f"{f}\n" for f in sorted(held_out)), encoding="utf-8")
    truth = {
        "train_images": len(labels),
        "leaks": leaks,
        "duplicates": duplicates,
        "conflicts": conflicts,
        "flipped": flipped,
        "held_out": held_out,
    }
    (work / "truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    return truth


def step(work: Path, timings: dict[str, float], label: str, *args: str) -> None:
    """One CLI command in ``work``, timed; a failure stops the loop with its output."""
    command = [sys.executable, "-m", "ignite_fire", *args]
    print(f"$ python -m ignite_fire {' '.join(args)}", flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO), "WANDB_MODE": "disabled"}
    start = time.monotonic()
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
    timings[label] = round(time.monotonic() - start, 1)
    if done.returncode != 0:
        sys.exit(f"{label} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    print(f"  {timings[label]} s", flush=True)


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_score(submission: Path, held_out: dict[str, str]) -> dict[str, float]:
    """Accuracy, macro F1 and the Tianchi score (sum of weight * F1) of a submission on the held-out photos."""
    from sklearn.metrics import f1_score

    from ignite_fire.metrics import TIANCHI_F1_WEIGHTS

    predicted = dict(line.split("\t") for line in submission.read_text(encoding="utf-8").splitlines() if line)
    files = sorted(held_out)
    y_true, y_pred = [held_out[f] for f in files], [predicted[f].strip() for f in files]
    f1 = f1_score(y_true, y_pred, labels=TIANCHI_CLASSES, average=None, zero_division=0)
    return {
        "acc": sum(t == p for t, p in zip(y_true, y_pred, strict=True)) / len(files),
        "macro_f1": float(f1.mean()),
        "score": float(sum(TIANCHI_F1_WEIGHTS[c] * v for c, v in zip(TIANCHI_CLASSES, f1, strict=True))),
    }


def finds(work: Path, truth: dict, first: Path, second: Path) -> dict:
    """What the audits found against what was planted."""
    leaks = {r["test_file"].split("/")[-1]: r["train_file"].split("/")[-1] for r in read_csv(first / "leaks.csv")}
    group = {r[0]: r[1] for r in (line.split("\t") for line in (first / "groups.txt").read_text("utf-8").splitlines())}
    planted_pairs = truth["duplicates"] + truth["conflicts"]
    planted_images = {f for pair in planted_pairs for f in pair}
    in_groups = {r["file"].split("/")[-1] for r in read_csv(first / "duplicates.csv")}
    conflict_rows = read_csv(first / "conflicts.csv")
    conflict_groups: dict[str, set[str]] = {}
    for row in conflict_rows:
        conflict_groups.setdefault(row["group"], set()).add(row["file"].split("/")[-1])
    issues = read_csv(second / "label_issues.csv")
    ranked = [r["file"].split("/")[-1] for r in issues]
    flipped = set(truth["flipped"])
    conflict_copies = {pair[1] for pair in truth["conflicts"]}
    top = set(ranked[:FLIPS])
    return {
        "leaks_found": sum(leaks.get(t) == s for t, s in truth["leaks"].items()),
        "leaks_planted": len(truth["leaks"]),
        "false_leaks": sum(t not in truth["leaks"] for t in leaks),
        "false_leaks_of_digits": sum(t not in truth["leaks"] and truth["held_out"].get(t) == "高风险" for t in leaks),
        "same_label_pairs_grouped": sum(group[a] == group[b] for a, b in truth["duplicates"]),
        "same_label_pairs_planted": len(truth["duplicates"]),
        "conflict_pairs_grouped": sum(group[a] == group[b] for a, b in truth["conflicts"]),
        "conflicts_listed": sum(any({a, b} <= g for g in conflict_groups.values()) for a, b in truth["conflicts"]),
        "conflicts_planted": len(truth["conflicts"]),
        "images_in_unplanted_groups": len(in_groups - planted_images),
        "digits_in_unplanted_groups": sum(f.startswith(("img_0_", "图片_0_")) for f in in_groups - planted_images),
        "unplanted_conflict_groups": sum(not (g & planted_images) for g in conflict_groups.values()),
        "label_issues_flagged": len(ranked),
        "flipped_in_top_k": len(top & flipped),
        "k": FLIPS,
        "flipped_flagged": len(set(ranked) & flipped),
        "flipped_planted": len(flipped),
        "conflict_copies_flagged": len(set(ranked) & conflict_copies),
        "flagged_not_planted": len(set(ranked) - flipped - conflict_copies - {p[0] for p in truth["conflicts"]}),
        "excluded": len((work / "excluded.txt").read_text("utf-8").split()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("houses4", type=Path)
    parser.add_argument("work", type=Path, help="a new folder")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    work = args.work.resolve()
    if work.exists():
        sys.exit(f"{work} exists: give a new folder")
    truth = build(args.houses4.resolve(), work, args.seed)
    experiment = str(REPO / "experiments" / "resnet18_baseline.py")
    budget = [
        "--data_dir=data/tianchi", "--folds=3", "--pretrained=False", "--image_size=64", f"--epochs={args.epochs}",
        "--batch_size=32", "--num_workers=0", "--plots=False", "--loggers=csv", "--checkpoint_metric=val_score",
        f"--seed={args.seed}",
    ]  # fmt: skip
    audit_dir = "data/tianchi-audit"
    timings: dict[str, float] = {}
    step(
        work,
        timings,
        "audit",
        "audit",
        "data/tianchi",
        "--test=data/tianchi/A",
        "--folds=3",
        f"--seed={args.seed}",
        "--image_size=64",
    )
    groups = f"--groups={audit_dir}/groups.txt"
    runs = {"plain": [], "grouped": [groups], "cleaned": [groups, "--exclude=excluded.txt"]}
    scores = {}
    for name, extra in runs.items():
        if name == "cleaned":
            step(
                work, timings, "audit --cv", "audit", "data/tianchi", "--cv=runs/grouped", "--folds=3",
                f"--seed={args.seed}", "--image_size=64", "--output=data/tianchi-audit-cv",
                "--write_excluded=excluded.txt",
            )  # fmt: skip
        step(work, timings, f"cv {name}", "cv", experiment, *budget, *extra, f"--name={name}")
        step(
            work, timings, f"predict {name}", "predict", f"runs/{name}", "--input=data/tianchi/A",
            "--list=held_out.txt", f"--output=predictions/{name}.txt",
        )  # fmt: skip
        summary = json.loads((work / "runs" / name / "cv.json").read_text(encoding="utf-8"))
        scores[name] = {
            "oof_score": summary["oof"]["val_score"],
            "oof_images": None,
            **test_score(work / "predictions" / f"{name}.txt", truth["held_out"]),
        }
        oof = work / "runs" / name / "oof.csv"
        scores[name]["oof_images"] = len(read_csv(oof)) if oof.exists() else None
    found = finds(work, truth, work / audit_dir, work / "data/tianchi-audit-cv")
    results = {"epochs": args.epochs, "seed": args.seed, "timings_s": timings, "finds": found, "scores": scores}
    (work / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(results, ensure_ascii=False, indent=1))
    print("\n| cv | OOF images | OOF score | test acc | test macro F1 | test score / 6.5 |\n|---|---|---|---|---|---|")
    for name, s in scores.items():
        cells = [name, str(s["oof_images"]), *(f"{s[k]:.3f}" for k in ("oof_score", "acc", "macro_f1", "score"))]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
