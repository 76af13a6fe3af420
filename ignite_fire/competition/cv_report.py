"""``{cv_dir}/index.html``: one page for a finished cv, in the run page's style, openable from disk.

It shows the per-fold table (each fold linked to its own run page), mean ± std and the pooled OOF
scores, the pooled OOF confusion matrix, per-class F1 with and without the tuned decision, and the
decision's in-sample against cross-fitted gains (per fold). It reads only the cv directory's files
(``cv.json``, ``oof.csv``, ``decision.json``), so it can be rewritten at any time::

    python -c "from ignite_fire.competition.cv_report import write_cv_index; write_cv_index('runs/cv5')"

The cv command writes it once every fold is finished; :func:`wandb_items` gives the same table and
picture for the cv's W&B run.
"""

from __future__ import annotations

import html
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import torch

from ignite_fire.competition.oof import read_oof
from ignite_fire.cv_dir import CV_FILE, DECISION_FILE, OOF_FILE, fold_dir
from ignite_fire.files import write_text_atomic
from ignite_fire.inference.decision import decide
from ignite_fire.loggers.wandb import Picture
from ignite_fire.metrics import per_class_scores
from ignite_fire.pictures.drawing import plot_confusion_matrix
from ignite_fire.pictures.fonts import display_label, label_fonts
from ignite_fire.pictures.report import STYLE, _format, _image
from ignite_fire.warn import warn_once

Table = tuple[list[str], list[list[Any]]]  # columns, rows

CONFUSION_FILE = "oof_confusion_matrix.png"
METRICS = ("val_acc", "val_macro_f1", "val_score")


def confusion_of(predicted: torch.Tensor, labels: torch.Tensor, n: int) -> torch.Tensor:
    return torch.bincount(labels * n + predicted, minlength=n * n).reshape(n, n)


def per_class_f1(cv_dir: Path) -> tuple[list[str], list[float], list[float], dict[str, Any], torch.Tensor]:
    """Classes, OOF F1 per class of the argmax and of the tuned decision, decision.json, the argmax confusion."""
    oof = read_oof(cv_dir / OOF_FILE)
    decision = json.loads((cv_dir / DECISION_FILE).read_text(encoding="utf-8"))
    n = len(oof.classes)
    plain = confusion_of(oof.probabilities.argmax(dim=1), oof.labels, n)
    tuned = confusion_of(decide(oof.probabilities, decision.get("tuned_bias", decision["bias"])), oof.labels, n)
    return oof.classes, per_class_scores(plain)[2].tolist(), per_class_scores(tuned)[2].tolist(), decision, plain


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def folds_table(cv: dict[str, Any], cv_dir: Path) -> str:
    metrics = [m for m in METRICS if m in cv["mean"]]
    rows = []
    for record in cv["per_fold"]:
        run = fold_dir(cv_dir, record["fold"])
        page = "index.html" if (run / "index.html").is_file() else "results.json"  # a run with --plots=False
        link = f'<a href="{run.name}/{page}">{"run page" if page == "index.html" else page}</a>'
        rows.append([f"fold {record['fold']}", *(_format(record.get(m)) for m in metrics), link])
    rows.append(["mean ± std", *(f"{_format(cv['mean'][m])} ± {cv['std'][m]:.3f}" for m in metrics), ""])
    rows.append([f"pooled OOF ({cv.get('oof_images', '')} images)", *(_format(cv["oof"][m]) for m in metrics), ""])
    return _table(["", *metrics, ""], rows)


def decision_tables(decision: dict[str, Any], classes: list[str], plain: list[float], tuned: list[float]) -> str:
    kept = decision["kind"] == "bias"
    bias = decision.get("tuned_bias", decision["bias"])
    f1_rows = [
        [html.escape(name), f"{bias[i]:+.1f}", _format(plain[i]), _format(tuned[i]), f"{tuned[i] - plain[i]:+.4f}"]
        for i, name in enumerate(classes)
    ]
    per_fold = [
        [
            f"fold {r['fold']}",
            str(r["tuned_on"]),
            str(r["scored"]),
            _format(r["argmax"]),
            _format(r["tuned"]),
            f"{r['gain']:+.4f}",
        ]
        for r in decision.get("cross_fitted", [])
    ]
    metric = html.escape(str(decision["metric"]))
    return (
        f"<p>decision tuned for <code>{metric}</code>: {html.escape(decision['note'])}. "
        f"In-sample gain (tuned and scored on all OOF rows) <b>{decision['in_sample_gain']:+.4f}</b>, "
        f"cross-fitted gain (tuned on the other folds, scored on each held-out fold) "
        f"<b>{decision['cross_fitted_gain']:+.4f}</b>; predict uses "
        f"{'the biases' if kept else 'plain argmax'}.</p>"
        + _table(["class", "tuned bias", "F1 argmax", "F1 with the decision", "change"], f1_rows)
        + "<h3>Cross-fitted gain per fold</h3>"
        + _table(["", "tuned on", "scored", f"{metric} argmax", f"{metric} tuned", "gain"], per_fold)
    )


def write_cv_index(cv_dir: str | Path) -> Path:
    """Write ``{cv_dir}/index.html`` and ``oof_confusion_matrix.png`` from the cv directory's files."""
    cv_dir = Path(cv_dir)
    cv = json.loads((cv_dir / CV_FILE).read_text(encoding="utf-8"))
    classes, plain, tuned, decision, confusion = per_class_f1(cv_dir)
    fonts = label_fonts(classes)
    labels = [display_label(name, i, fonts) for i, name in enumerate(classes)]
    plot_confusion_matrix(confusion, labels, cv_dir / CONFUSION_FILE, title="pooled OOF (argmax)", fonts=fonts)
    name = cv_dir.name
    updated = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    overrides = ", ".join(f"{k}={v}" for k, v in (cv.get("overrides") or {}).items())
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(name)} (cv)</title>
<style>{STYLE}</style>
</head>
<body>
<h1>{html.escape(name)}: {cv["folds"]}-fold cross-validation</h1>
<p class="meta">experiment {html.escape(str(cv.get("experiment", "")))} &middot; {html.escape(overrides)} &middot;
TTA {html.escape(str(cv.get("tta")))} &middot; classes: {html.escape(", ".join(classes))} &middot; updated {updated}</p>
<h2>Folds</h2>
{folds_table(cv, cv_dir)}
<h2>Pooled out-of-fold confusion matrix</h2>
{_image(cv_dir / CONFUSION_FILE, cv_dir, "pooled OOF confusion matrix", "no confusion matrix")}
<h2>Decision: per-class F1 with and without it</h2>
{decision_tables(decision, classes, plain, tuned)}
<p class="meta">files: <a href="{CV_FILE}">{CV_FILE}</a> &middot; <a href="{OOF_FILE}">{OOF_FILE}</a> &middot;
<a href="{DECISION_FILE}">{DECISION_FILE}</a></p>
</body>
</html>
"""
    path = cv_dir / "index.html"
    write_text_atomic(path, page)
    return path


def cv_page_items(cv_dir: str | Path) -> tuple[dict[str, Table], dict[str, Picture]]:
    """The page's per-class table and confusion matrix for the cv's W&B run (``loggers.wandb.log_cv_summary``):
    ``({name: (columns, rows)}, {name: Picture})``."""
    cv_dir = Path(cv_dir)
    if not (cv_dir / OOF_FILE).is_file() or not (cv_dir / DECISION_FILE).is_file():
        return {}, {}  # nothing to add to the folds table
    try:
        classes, plain, tuned, _, _ = per_class_f1(cv_dir)
    except Exception as error:  # the cv's W&B run still logs its folds table and finishes
        warn_once(f"the cv page's per-class table was not logged to W&B ({type(error).__name__}: {error})")
        return {}, {}
    rows = [[name, plain[i], tuned[i]] for i, name in enumerate(classes)]
    tables: dict[str, Table] = {"per_class_f1": (["class", "f1_argmax", "f1_decision"], rows)}
    images = {}
    if (cv_dir / CONFUSION_FILE).is_file():
        images["oof_confusion_matrix"] = Picture(str(cv_dir / CONFUSION_FILE), "pooled OOF confusion matrix")
    return tables, images


def write_cv_page(cv_dir: str | Path) -> Path | None:
    """:func:`write_cv_index` for the cv command: a page that cannot be written is a warning, never a failed cv."""
    from ignite_fire.pictures.guard import guarded

    return guarded("the cv page index.html", write_cv_index)(cv_dir)
