"""The measured table of issue 22: one run vs fold ensemble vs refit ensembles vs decision families.

    OMP_NUM_THREADS=1 python tools/chain_table.py HOUSES4_DIR WORK_DIR [--epochs=10] [--seeds=0,1] [--stage=all]

Builds a 5-class Tianchi-layout set from houses4 in WORK_DIR/data (730 training images, 20 test images
per class with their labels kept apart). houses4 has 4 classes: bathroom is split in two by file order
(house number) into 高风险 (weight 2, the rare class) and 低风险, so those two classes are as close as two
classes can be and argmax under-predicts the heavy one: the decision has something to correct.
Then, per seed, it runs (each command skipped or resumed when its output exists):

    train  EXPERIMENT --seed=S                    one run (val_fraction 0.2, best checkpoint by val_score)
    train  EXPERIMENT --seed=S --sampler=balanced the same with classes drawn equally often
    cv     EXPERIMENT --folds=3 --refit=3 --seed=S
    predict ... on WORK_DIR/data/A                 each row's submission, scored against A_labels.txt

and prints the markdown table (score = sum w*F1 on the test set, Tianchi weights, out of 6.5).
``--stage=base`` runs only the commands that main's code already has (the one runs and the folds).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.tianchi_data import TIANCHI_CLASSES, images_in, write_tianchi  # noqa: E402

EXPERIMENT = ROOT / "experiments" / "resnet18_baseline.py"
TRAIN_PER_CLASS = {"高风险": 70, "中风险": 150, "低风险": 170, "无风险": 170, "非楼道": 170}  # 730
TEST_PER_CLASS = 20
FAMILIES = ("prior", "temperature", "shrunk", "bias")


def build_set(houses4: Path, root: Path) -> Path:
    def both(name: str) -> list[Path]:
        return sorted(images_in(houses4 / "train" / name) + images_in(houses4 / "val" / name), key=lambda p: p.name)

    bathroom = both("bathroom")
    heavy = TRAIN_PER_CLASS["高风险"] + TEST_PER_CLASS
    sources = {
        "高风险": bathroom[:heavy],
        "中风险": both("kitchen"),
        "低风险": bathroom[heavy:],
        "无风险": both("bedroom"),
        "非楼道": both("frontal"),
    }
    return write_tianchi(root, sources, TRAIN_PER_CLASS, test_per_class=TEST_PER_CLASS, size=80)


def common(data: Path, out: Path, epochs: int, seed: int) -> list[str]:
    return [
        f"--data_dir={data}",
        f"--output_dir={out}",
        f"--seed={seed}",
        f"--epochs={epochs}",
        "--pretrained=False",
        "--image_size=64",
        "--checkpoint_metric=val_score",
        "--plots=False",
        "--loggers=csv",
        "--wandb_mode=disabled",
        "--num_workers=0",
    ]


def ignite_fire(*args: str) -> None:
    command = [sys.executable, "-m", "ignite_fire", *args]
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})


def finished(run_dir: Path) -> bool:
    results = run_dir / "results.json"
    return results.is_file() and json.loads(results.read_text(encoding="utf-8")).get("status") == "finished"


def test_score(data: Path, submission: Path) -> float:
    import torch

    from ignite_fire.competition.decision import scores_of

    truth = dict(line.split("\t") for line in (data / "A_labels.txt").read_text(encoding="utf-8").splitlines())
    predicted = dict(line.split("\t") for line in submission.read_text(encoding="utf-8").splitlines())
    names = sorted(truth)
    labels = torch.tensor([TIANCHI_CLASSES.index(truth[n]) for n in names])
    guesses = torch.tensor([TIANCHI_CLASSES.index(predicted[n]) for n in names])
    return scores_of(guesses, labels, TIANCHI_CLASSES, None)["val_score"]


def predict(data: Path, out: Path, name: str, *specs: str, options: tuple[str, ...] = ()) -> float:
    folder = out / "predictions" / name
    folder.mkdir(parents=True, exist_ok=True)
    submission = folder / "submission.txt"
    if not submission.is_file():
        ignite_fire(
            "predict", *specs, f"--input={data / 'A'}", f"--list={data / 'A.txt'}", f"--output={submission}",
            "--num_workers=0", "--device=cpu", *options,
        )
    return test_score(data, submission)


def family_scores(data: Path, cv_dir: Path, probabilities_csv: Path) -> dict[str, float]:
    """The test score of the refit ensemble's probabilities under each family stored in decision.json."""
    import csv

    import torch

    from ignite_fire.competition.decision import scores_of
    from ignite_fire.inference.decision import apply_decision

    decision = json.loads((cv_dir / "decision.json").read_text(encoding="utf-8"))
    with open(probabilities_csv, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    classes = rows[0][1:]
    names = [r[0] for r in rows[1:]]
    probabilities = torch.tensor([[float(x) for x in r[1:]] for r in rows[1:]])
    truth = dict(line.split("\t") for line in (data / "A_labels.txt").read_text(encoding="utf-8").splitlines())
    labels = torch.tensor([classes.index(truth[n]) for n in names])
    scores = {}
    for family, entry in decision["families"].items():
        form = {"classes": classes, "bias": entry["bias"], "scale": entry["scale"]}
        scores[family] = scores_of(apply_decision(probabilities, form, classes), labels, classes, None)["val_score"]
    return scores


def run_seed(data: Path, out: Path, epochs: int, seed: int, stage: str) -> dict[str, float]:
    options = common(data, out, epochs, seed)
    one = out / f"one_s{seed}"
    if not finished(one):
        resume = ["--resume=auto"] if (one / "checkpoints" / "last.pt").is_file() else []
        ignite_fire("train", str(EXPERIMENT), *options, f"--name={one.name}", *resume)
    balanced = out / f"balanced_s{seed}"
    if stage != "base" and not finished(balanced):
        resume = ["--resume=auto"] if (balanced / "checkpoints" / "last.pt").is_file() else []
        ignite_fire("train", str(EXPERIMENT), *options, "--sampler=balanced", f"--name={balanced.name}", *resume)
    cv_dir = out / f"cv_s{seed}"
    refit = [] if stage == "base" else ["--refit=3"]
    resume = ["--resume=auto"] if (cv_dir / "cv.json").is_file() else []
    ignite_fire("cv", str(EXPERIMENT), "--folds=3", *refit, *options, f"--name={cv_dir.name}", *resume)
    if stage == "base":
        return {}
    row = {
        "one run": predict(data, out, f"one_s{seed}", str(one)),
        "one run, --tta=hflip": predict(data, out, f"one_hflip_s{seed}", str(one), options=("--tta=hflip",)),
        "one run, --sampler=balanced": predict(data, out, f"balanced_s{seed}", str(balanced)),
        "cv fold 0 alone": predict(data, out, f"fold0_s{seed}", str(cv_dir / "fold0")),
        "3-fold ensemble": predict(
            data, out, f"folds_s{seed}", str(cv_dir), options=("--members=folds", "--decision=none")
        ),
        "3-fold ensemble + decision=auto": predict(
            data, out, f"folds_auto_s{seed}", str(cv_dir), options=("--members=folds",)
        ),
        "refit N=1": predict(data, out, f"refit1_s{seed}", str(cv_dir / "refit0" / "checkpoints" / "last.pt")),
        "refit N=3": predict(data, out, f"refit3_s{seed}", str(cv_dir), options=("--members=refit", "--decision=none")),
        "refit N=3 + decision=auto": predict(data, out, f"refit3_auto_s{seed}", str(cv_dir)),
    }
    by_family = family_scores(data, cv_dir, out / "predictions" / f"refit3_s{seed}" / "probabilities.csv")
    decision = json.loads((cv_dir / "decision.json").read_text(encoding="utf-8"))
    cv_summary = json.loads((cv_dir / "cv.json").read_text(encoding="utf-8"))
    row["decision=auto chose (on the OOF)"] = decision["family"]  # type: ignore[assignment]
    row["refit_epochs (the folds' median best epoch)"] = str(cv_summary["refit_epochs"])  # type: ignore[assignment]
    row["pooled OOF score, argmax (the cv's estimate)"] = cv_summary["oof"]["val_score"]
    for family in FAMILIES:
        entry = decision["families"][family]
        row[f"refit N=3 + {family}"] = by_family[family]
        row[f"{family}: cross-fitted gain (OOF)"] = entry["cross_fitted_gain"]
        row[f"{family}: in-sample gain (OOF)"] = entry["in_sample_gain"]
        row[f"{family}: test gain on refit N=3"] = by_family[family] - row["refit N=3"]
    return row


def table(rows: dict[int, dict[str, float]]) -> str:
    seeds = sorted(rows)
    lines = ["| system | " + " | ".join(f"seed {s}" for s in seeds) + " | mean |", "|---|" + "---|" * (len(seeds) + 1)]
    keys = list(rows[seeds[0]])
    keys = [k for k in keys if "(" not in k and ":" not in k] + [k for k in keys if "(" in k or ":" in k]
    for key in keys:
        values = [rows[s][key] for s in seeds]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            signed = "gain" in key
            cells = [f"{v:+.2f}" if signed else f"{v:.2f}" for v in values]
            mean = statistics.mean(values)
            cells.append(f"{mean:+.2f}" if signed else f"{mean:.2f}")
        else:
            cells = [str(v) for v in values] + [""]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("houses4", type=Path)
    parser.add_argument("work", type=Path)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--stage", choices=("base", "all"), default="all")
    args = parser.parse_args()
    data = build_set(args.houses4, args.work / "data")
    out = args.work / "runs"
    rows = {int(s): run_seed(data, out, args.epochs, int(s), args.stage) for s in args.seeds.split(",")}
    if args.stage == "all":
        text = table(rows)
        (args.work / "table.md").write_text(text + "\n", encoding="utf-8")
        print(text)


if __name__ == "__main__":
    main()
