"""The layout of a cross-validation directory, for the commands that read one (predict, pseudo-label, training).

{output_dir}/{name}/cv.json          folds, metrics, decision gains (written by the cv command)
{output_dir}/{name}/fold{k}/         the run of fold k (checkpoints/, results.json, ...)
{output_dir}/{name}/refit{i}/        cv --refit=N: model i trained on all the labelled data (checkpoints/last.pt)
{output_dir}/{name}/oof.csv          out-of-fold probabilities
{output_dir}/{name}/decision.json    the decision tuned on oof.csv
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ignite_fire.errors import UserError

logger = logging.getLogger("ignite_fire")

CV_FILE = "cv.json"
DECISION_FILE = "decision.json"
OOF_FILE = "oof.csv"
REFIT_CHECKPOINT = "checkpoints/last.pt"  # a refit's model is its last epoch's, never one chosen by a val score
MEMBERS = ("auto", "refit", "folds", "all")  # predict's --members: which models of a cv directory are averaged


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


def refit_dir(cv_dir: str | Path, index: int) -> Path:
    return Path(cv_dir).expanduser() / f"refit{index}"


def refit_checkpoints(cv_dir: str | Path) -> list[Path]:
    """The last checkpoints of the refits cv.json names (none without --refit); an error naming unfinished ones."""
    dirs = [refit_dir(cv_dir, i) for i in range(int(read_cv(cv_dir).get("refit") or 0))]

    def finished(run_dir: Path) -> bool:
        results = run_dir / "results.json"
        status = json.loads(results.read_text(encoding="utf-8")).get("status") if results.is_file() else None
        return status == "finished" and (run_dir / REFIT_CHECKPOINT).is_file()

    unfinished = [d.name for d in dirs if not finished(d)]
    if unfinished:
        raise UserError(
            f"{cv_dir} has unfinished refits {', '.join(unfinished)}: finish them first (the same cv command with "
            "--resume=auto), or pass --members=folds"
        )
    return [d / REFIT_CHECKPOINT for d in dirs]


def cv_members(cv_dir: str | Path, members: str = "auto") -> list[str]:
    """The checkpoints of ``cv_dir`` that ``members`` names: auto (the refits if any, else the folds), refit,
    folds or all; logged."""
    if members not in MEMBERS:
        raise UserError(f"--members={members!r} is not one of {', '.join(MEMBERS)}")
    refits = [str(path) for path in refit_checkpoints(cv_dir)] if members != "folds" else []
    if members == "refit" and not refits:
        raise UserError(f"--members=refit: {cv_dir} has no refits (run cv with --refit=N), or pass --members=folds")
    folds = [str(d) for d in fold_dirs(cv_dir)] if members in ("folds", "all") or not refits else []
    used = " and ".join(part for part, n in (("refits", len(refits)), ("folds", len(folds))) if n)
    logger.info(f"{cv_dir}: averaging {len(refits) + len(folds)} models, its {used} (--members={members})")
    return refits + folds


def expand_checkpoints(specs: tuple[str, ...] | list[str], members: str = "auto") -> tuple[list[str], Path | None]:
    """``specs`` with each cv directory replaced by its ``members`` (:func:`cv_members`); and the decision.json
    of the (single) cv directory."""
    expanded: list[str] = []
    decisions: list[Path] = []
    for spec in specs:
        if is_cv_dir(spec):
            expanded += cv_members(spec, members)
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
