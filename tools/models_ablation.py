"""The ablation table of docs/models.md ("Ablation (measured)"): one CPU budget, rows trained in turn.

Builds a Tianchi-layout set from ../shared/data/houses4 (tests/tianchi_data.py: four photo classes
under Chinese names, the rare 高风险 from digits), trains each row from scratch (no pretrained
weights offline here) for the same epochs, predicts the held-out A/ images with the best checkpoint
and scores them (the Tianchi weighted F1 and macro F1). TTA rows reuse a trained row's checkpoint.

    OMP_NUM_THREADS=1 PYTHONPATH=. python tools/models_ablation.py --out=/tmp/ablation --seeds=0,1 --epochs=10
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from tianchi_data import houses4_sources, write_tianchi  # noqa: E402

from ignite_fire.data.digits import write_digits  # noqa: E402
from ignite_fire.experiment import experiment_from_config  # noqa: E402
from ignite_fire.inference.predict import predict  # noqa: E402
from ignite_fire.metrics import derived_scores  # noqa: E402
from ignite_fire.training import train  # noqa: E402

BASE: dict[str, Any] = {
    "model": "resnet18",
    "pretrained": False,
    "classes": ["高风险", "中风险", "低风险", "无风险", "非楼道"],
    "image_size": 32,
    "batch_size": 32,
    "optimizer": "AdamW",
    "learning_rate": 0.002,
    "weight_decay": 0.05,
    "scheduler": "CosineAnnealingLR",
    "warmup_epochs": 1.0,
    "device": "cpu",
    "num_workers": 0,
    "amp": False,
    "wandb_mode": "disabled",
    "plots": False,
    "watch": None,
    "checkpoint_metric": "val_weighted_f1",
}
POLICY = {"augment": "trivialaugment"}
ERASING = {**POLICY, "random_erasing": 0.25}
ROWS: list[tuple[str, dict[str, Any]]] = [
    ("baseline (resnet18, crop+flip)", {}),
    ("+ TrivialAugment", POLICY),
    ("+ TrivialAugment + RandomErasing 0.25", ERASING),
    ("+ TrivialAugment + RandomErasing + layer_decay 0.75", {**ERASING, "layer_decay": 0.75}),
    ("+ TrivialAugment + RandomErasing + freeze_epochs 2", {**ERASING, "freeze_epochs": 2}),
    ("timm/resnet10t + TrivialAugment + RandomErasing", {**ERASING, "model": "timm/resnet10t"}),
]
TTA_ROWS = [("+ TTA hflip", "hflip"), ("+ TTA hflip,scales", "hflip,scales")]
TTA_OF = 2  # the TTA rows predict with this row's checkpoints


def score(probabilities_csv: Path, labels_file: Path, classes: list[str]) -> dict[str, float]:
    truth = dict(line.split("\t") for line in labels_file.read_text(encoding="utf-8").splitlines() if line)
    confusion = torch.zeros(len(classes), len(classes), dtype=torch.long)
    for line in probabilities_csv.read_text(encoding="utf-8").splitlines()[1:]:
        name, *values = line.split(",")
        predicted = max(range(len(classes)), key=lambda i: float(values[i]))
        confusion[classes.index(truth[name]), predicted] += 1
    scores = derived_scores(confusion, classes)
    return {"weighted_f1": scores["val_weighted_f1"], "macro_f1": scores["val_macro_f1"]}


def table(results_path: Path) -> str:
    """The docs table (docs/models.md): per row the mean over seeds, and the seeds' values."""
    records = [json.loads(line) for line in results_path.read_text(encoding="utf-8").splitlines() if line]
    rows: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        rows.setdefault(record["row"], []).append(record)
    lines = ["| row | seeds | weighted F1 (max 6.5) | macro F1 | train s / run |", "|---|---|---|---|---|"]
    for row, runs in rows.items():
        cells = []
        for key in ("weighted_f1", "macro_f1"):
            values = [r[key] for r in runs]
            cells.append(f"{sum(values) / len(values):.3f} ({', '.join(f'{v:.3f}' for v in values)})")
        seconds = sum(r["train_seconds"] for r in runs) / len(runs)
        lines.append(f"| {row} | {len(runs)} | {cells[0]} | {cells[1]} | {seconds:.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="/tmp/models-ablation")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--table", action="store_true", help="print the table of the results so far and stop")
    args = parser.parse_args()
    if args.table:
        print(table(Path(args.out) / "results.jsonl"))
        return
    logging.basicConfig(level=logging.WARNING)
    out = Path(args.out)
    digits = write_digits(out / "digits", size=32, per_class=120)
    houses4 = REPO.parent.parent / "shared" / "data" / "houses4"
    houses4 = houses4 if houses4.is_dir() else Path("/work/shared/data/houses4")
    per_class = {"高风险": 30, "中风险": 110, "低风险": 110, "无风险": 110, "非楼道": 110}
    data = write_tianchi(out / "tianchi", houses4_sources(houses4, digits), per_class, test_per_class=40, size=48)
    results_path = out / "results.jsonl"
    done = (
        {(r["row"], r["seed"]) for r in map(json.loads, results_path.read_text().splitlines())}
        if results_path.exists()
        else set()
    )
    for seed in [int(s) for s in args.seeds.split(",")]:
        for index, (row, overrides) in enumerate(ROWS):
            if (row, seed) in done:
                continue
            config = {**BASE, **overrides, "seed": seed, "epochs": args.epochs, "data_dir": str(data)}
            config.update(output_dir=str(out / "runs"), name=f"row{index}-seed{seed}")
            shutil.rmtree(out / "runs" / config["name"], ignore_errors=True)  # a half-finished earlier try
            start = time.perf_counter()
            results = train(experiment_from_config(f"row{index}", config))
            seconds = time.perf_counter() - start
            rows = [(row, None)] + (TTA_ROWS if index == TTA_OF else [])
            for name, tta in rows:
                csv = out / "predictions" / f"row{index}-seed{seed}-{tta or 'none'}.csv"
                predict(
                    results["run_dir"],
                    input=str(data / "A"),
                    list=str(data / "A.txt"),
                    output=str(csv.with_suffix(".txt")),
                    probabilities=str(csv),
                    tta=tta,
                    device="cpu",
                )
                record = {
                    "row": name if tta else row,
                    "seed": seed,
                    "train_seconds": seconds,
                    **score(csv, data / "A_labels.txt", BASE["classes"]),
                }
                with results_path.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                print(json.dumps(record, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
