"""The layout of a cross-validation directory, for the commands that read one (predict, pseudo-label, training).

{output_dir}/{name}/cv.json          folds, metrics, decision gains (written by the cv command)
{output_dir}/{name}/fold{k}/         the run of fold k (checkpoints/, results.json, ...)
{output_dir}/{name}/oof.csv          out-of-fold probabilities
{output_dir}/{name}/decision.json    the decision tuned on oof.csv
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ignite_fire.errors import UserError

CV_FILE = "cv.json"
DECISION_FILE = "decision.json"
OOF_FILE = "oof.csv"


def is_cv_dir(path: str | Path) -> bool:
    return (Path(path).expanduser() / CV_FILE).is_file()


def read_cv(cv_dir: str | Path) -> dict[str, Any]:
    path = Path(cv_dir).expanduser() / CV_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise UserError(
            f"{path} cannot be read ({error}): is {cv_dir} a directory written by the cv command?"
        ) from error


def fold_dir(cv_dir: str | Path, fold: int) -> Path:
    return Path(cv_dir).expanduser() / f"fold{fold}"


def fold_dirs(cv_dir: str | Path) -> list[Path]:
    """Every fold's run directory; an error naming the folds that have no best checkpoint yet."""
    folds = int(read_cv(cv_dir)["folds"])
    dirs = [fold_dir(cv_dir, k) for k in range(folds)]
    unfinished = [d.name for d in dirs if not any((d / "checkpoints").glob("best_checkpoint_*.pt"))]
    if unfinished:
        raise UserError(
            f"{cv_dir} has no best checkpoint for {', '.join(unfinished)}: finish the cv first "
            "(the same cv command with --resume=auto)"
        )
    return dirs


def expand_checkpoints(specs: tuple[str, ...] | list[str]) -> tuple[list[str], Path | None]:
    """``specs`` with each cv directory replaced by its folds; and the decision.json of the (single) cv directory."""
    expanded: list[str] = []
    decisions: list[Path] = []
    for spec in specs:
        if is_cv_dir(spec):
            expanded += [str(d) for d in fold_dirs(spec)]
            decision = Path(spec).expanduser() / DECISION_FILE
            if decision.is_file():
                decisions.append(decision)
        else:
            expanded.append(str(spec))
    return expanded, decisions[0] if len(decisions) == 1 else None


def init_for_fold(init_from: str | None, fold: int | None) -> str | None:
    """``--init_from`` for fold ``fold``: a cv directory stands for the same fold of that cv."""
    if init_from is None or not is_cv_dir(init_from):
        return init_from
    if fold is None:
        raise UserError(f"--init_from={init_from} is a cv directory: use it with cv (each fold starts from its own)")
    return str(fold_dir(init_from, fold))
