"""``cv``: K-fold cross-validation in one command, with out-of-fold predictions and a tuned decision.

    python -m ignite_fire cv EXPERIMENT.py --folds=5 --name=NAME [--key=value ...]
    python -m ignite_fire cv EXPERIMENT.py --folds=5 --name=NAME --resume=auto     finish an interrupted cv
    python -m ignite_fire cv EXPERIMENT.py --folds=5 --name=NAME --fold=2          one fold (one GPU / machine each)
    python -m ignite_fire cv EXPERIMENT.py --folds=5 --name=NAME --refit=3         then 3 models on all the data

The folds run one after another in this process as runs ``{output_dir}/{name}/fold{k}/`` (a W&B group
``name``, job_type "fold"). Once every fold is finished (by this command or by others with ``--fold``),
it writes ``oof.csv`` (:mod:`~ignite_fire.competition.oof`), ``decision.json``
(:mod:`~ignite_fire.competition.decision`) and
``cv.json`` (per-fold metrics, mean and std, pooled OOF metrics, in-sample and cross-fitted decision
gains), and prints them as a table. With ``--refit=N`` it then trains N models on all the labelled
data (:func:`run_refit`), which ``predict CV_DIR`` averages; the OOF and the decision never use them.
"""

from __future__ import annotations

import json
import logging
import statistics
from pathlib import Path
from typing import Any

from ignite_fire.choices import SCORE
from ignite_fire.competition.cv_report import cv_page_items, write_cv_page
from ignite_fire.competition.decision import FAMILIES, build_decision, check_decision, check_metric, scores_of
from ignite_fire.competition.oof import predict_oof, write_oof
from ignite_fire.config import Bookkeeping
from ignite_fire.cv_dir import CV_FILE, DECISION_FILE, OOF_FILE, fold_dir, init_for_fold, refit_dir
from ignite_fire.data.splits import SPLIT_VERSION
from ignite_fire.errors import UserError
from ignite_fire.experiment import Experiment, load_experiment
from ignite_fire.files import write_json_atomic
from ignite_fire.handlers.checkpoints import LAST_CHECKPOINT

logger = logging.getLogger("ignite_fire")

DONE = ("finished", "early_stopped")
REFIT_SEED_OFFSET = 1000  # refit i trains with seed + 1000 + i: other initialisations than the folds'
# A refit validates on this stratified slice (one image per class at least) only to log a loss curve: its
# model is the last epoch's (checkpoints/last.pt), so no val score chooses it, and the slice stays tiny.
REFIT_VAL_FRACTION = 0.01
TABLE_METRICS = ("val_acc", "val_macro_f1", SCORE)


def fold_status(run_dir: Path) -> str | None:
    """A fold's results.json status when it is done; else "started" when it has a last checkpoint, else None."""
    results = run_dir / "results.json"
    status = json.loads(results.read_text(encoding="utf-8")).get("status") if results.is_file() else None
    if status in DONE:
        return str(status)
    return "started" if (run_dir / "checkpoints" / LAST_CHECKPOINT).is_file() else None


def to_train(run_dir: Path, member: str, overrides: dict[str, Any]) -> tuple[bool, str | None]:
    """Whether the fold or refit in ``run_dir`` still trains, and its status (None: not started).

    A finished one is skipped; a started one continues only with --resume=auto (one line otherwise).
    """
    status = fold_status(run_dir)
    if status in DONE:
        logger.info(f"cv: {member} is {status}: skipped")
        return False, status
    if status is not None and overrides.get("resume") != "auto":
        raise UserError(f"{run_dir} already holds a {status} run: pass --resume=auto to continue the cv")
    return True, status


def run_fold(
    experiment: str, overrides: dict[str, Any], cv_dir: Path, folds: int, fold: int, folds_after: int = 0
) -> None:
    """Train fold ``fold`` in this process, unless it is finished; resume it when it was started.

    ``folds_after``: the folds this process trains next, counted in the progress lines' eta."""
    from ignite_fire.training import train

    run_dir = fold_dir(cv_dir, fold)
    todo, status = to_train(run_dir, f"fold {fold}", overrides)
    if not todo:
        return
    fold_overrides = {
        **overrides,
        "folds": folds,
        "fold": fold,
        "output_dir": str(cv_dir),
        "name": run_dir.name,
        "wandb_group": cv_dir.name,
        "wandb_job_type": "fold",
        "resume": "auto" if status is not None else None,
        "init_from": init_for_fold(overrides.get("init_from"), fold),  # a cv directory: the same fold of it
    }
    logger.info(f"cv: fold {fold} of {folds} in {run_dir}")
    again = f"the same cv command with --name={cv_dir.name} --resume=auto"  # not the fold's own --name
    train(
        load_experiment(experiment, fold_overrides),
        attach=lambda run: count_folds_after(run, folds_after),
        resume_command=again,
    )


def count_folds_after(run: Any, folds_after: int) -> None:
    """The progress lines' eta covers the folds still to train after this one (the cv's overall eta)."""
    if run.progress is not None:
        run.progress.runs_after = folds_after


def run_refit(experiment: str, overrides: dict[str, Any], cv_dir: Path, index: int, epochs: int, seed: int) -> None:
    """Train refit ``index`` on all the labelled data for ``epochs`` epochs, unless it is finished; resume it.

    No folds: the training images (all but a :data:`REFIT_VAL_FRACTION` slice; a fixed val/ split or
    val.txt stays validation) plus --extra_train, without early stopping. ``--init_from=CV_DIR`` starts
    refit i from fold i mod K of that cv.
    """
    from ignite_fire.training import train

    run_dir = refit_dir(cv_dir, index)
    todo, status = to_train(run_dir, f"refit {index}", overrides)
    if not todo:
        return
    folds = int(json.loads((cv_dir / CV_FILE).read_text(encoding="utf-8"))["folds"])
    refit_overrides = {
        **overrides,
        "folds": None,
        "val_fraction": REFIT_VAL_FRACTION,
        "epochs": epochs,
        "seed": seed,
        "patience": None,
        "output_dir": str(cv_dir),
        "name": run_dir.name,
        "wandb_group": cv_dir.name,
        "wandb_job_type": "refit",
        "resume": "auto" if status is not None else None,
        "init_from": init_for_fold(overrides.get("init_from"), index % folds),
    }
    logger.info(f"cv: refit {index} on all the data, {epochs} epochs, seed {seed}, in {run_dir}")
    train(load_experiment(experiment, refit_overrides))


def refit_epochs(cv_dir: Path, folds: int) -> int:
    """The folds' median best epoch (the lower middle one for an even number of folds)."""
    epochs = [json.loads((fold_dir(cv_dir, k) / "results.json").read_text(encoding="utf-8")) for k in range(folds)]
    return int(statistics.median_low(int(r["best_epoch"] or r["epochs_completed"]) for r in epochs))


def start_cv_dir(cv_dir: Path, folds: int, experiment: str, overrides: dict[str, Any]) -> list[Path]:
    """Create ``cv_dir`` with a cv.json naming the folds; an existing one must have as many folds.

    Returns what it created (cv.json, then the folders, deepest first), for :func:`discard_cv_dir`.
    """
    path = cv_dir / CV_FILE
    if path.is_file():
        existing = json.loads(path.read_text(encoding="utf-8"))
        if int(existing.get("folds", folds)) != folds:
            raise UserError(f"{cv_dir} is a cv with --folds={existing['folds']}, not {folds}: use another --name")
        version = existing.get("split_version", 1)  # cv.json without one: ignite_fire 0.1's own folds
        if version != SPLIT_VERSION:
            raise UserError(
                f"{cv_dir} was split into folds by split version {version}, this ignite_fire splits by version "
                f"{SPLIT_VERSION} (scikit-learn's StratifiedKFold): its folds cannot be continued; use another --name"
            )
        return []
    created = [p for p in (cv_dir, *cv_dir.parents) if not p.exists()]
    cv_dir.mkdir(parents=True, exist_ok=True)
    start = {"folds": folds, "split_version": SPLIT_VERSION, "experiment": str(experiment), "overrides": overrides}
    write_json_atomic(path, start)
    return [path, *created]


def discard_cv_dir(created: list[Path]) -> None:
    """Remove what :func:`start_cv_dir` created, when no fold left anything (a cv refused before training:
    the corrected command, say with another --folds, then starts afresh). Folders are removed only if empty."""
    for path in created:
        if path.is_file():
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def cross_validate(
    experiment: str,
    folds: int = 5,
    fold: int | None = None,
    tta: str | None = None,
    decision_metric: str = SCORE,
    refit: int = 0,
    decision: str = "auto",
    **overrides: Any,
) -> None:
    """Cross-validate EXPERIMENT over --folds folds (--fold=k: only fold k); then OOF, decision and cv.json.

    The folds are runs {output_dir}/{name}/fold{k}; --resume=auto skips finished folds and resumes the
    unfinished one; any config key can be overridden as --key=value.

    Args:
        experiment: the experiment file (.py).
        folds: the number of folds K.
        fold: train only fold k (0..K-1), e.g. one per machine; OOF and decision come once every fold is finished.
        tta: TTA modes for the out-of-fold predictions (hflip, scales, five_crop; comma-separated).
        decision_metric: the score the decision is tuned for: val_acc, val_macro_f1 or val_score.
        refit: after the folds, train this many models on all the labelled data for the folds' median best
            epoch (seeds seed+1000+i, in refit{i}/); predict CV_DIR then averages them instead of the folds.
        decision: the decision family: auto (the best cross-fitted gain, argmax when none is positive),
            argmax, prior, temperature, shrunk or bias.
        overrides: any config key, as --key=value.
    """
    from ignite_fire.devices import resolve_device
    from ignite_fire.run_dir import run_name

    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise UserError(f"--folds must be an integer >= 2, got {folds!r}")
    if fold is not None and (isinstance(fold, bool) or not isinstance(fold, int) or not 0 <= fold < folds):
        raise UserError(f"--fold must be an integer in 0..{folds - 1} with --folds={folds}, got {fold!r}")
    check_metric(decision_metric)  # before any fold trains
    check_decision(decision)
    if isinstance(refit, bool) or not isinstance(refit, int) or refit < 0:
        raise UserError(f"--refit must be an integer >= 0 (models trained on all the data), got {refit!r}")
    if overrides.get("resume") not in (None, "auto"):
        raise UserError(f"cv takes --resume=auto (continue the folds), not --resume={overrides['resume']}")
    if (fold is not None or overrides.get("resume")) and not overrides.get("name"):
        raise UserError("--fold and --resume=auto with cv need --name=NAME, the cv directory of the folds")
    loaded = load_experiment(experiment, overrides)  # checks every key once, before any fold runs
    settings = loaded.settings
    if settings.speed.nproc_per_node > 1:
        raise UserError("cv runs folds in one process: run one fold per GPU with --fold=k instead of --nproc_per_node")
    if refit and settings.update.ema_decay is not None:
        raise UserError("--refit predicts with each refit's last weights, not an EMA: drop --ema_decay or --refit")
    name = run_name(settings.bookkeeping.name, loaded.name, settings.bookkeeping.output_dir)
    cv_dir = Path(settings.bookkeeping.output_dir).expanduser() / name
    created = start_cv_dir(cv_dir, folds, experiment, overrides)
    todo = [k for k in (range(folds) if fold is None else [fold]) if fold_status(fold_dir(cv_dir, k)) not in DONE]
    try:
        for k in range(folds) if fold is None else [fold]:
            run_fold(experiment, {**overrides, "name": name}, cv_dir, folds, k, len([j for j in todo if j > k]))
    except BaseException:
        # a fold refused before training (too few images of a class for --folds, a bad --groups file,
        # missing weights) removes its own run directory; then nothing of this cv is left either
        if created and not any(p.name != CV_FILE for p in cv_dir.iterdir()):
            discard_cv_dir(created)
        raise
    waiting = [k for k in range(folds) if fold_status(fold_dir(cv_dir, k)) not in DONE]
    if waiting:
        logger.info(f"cv: folds {waiting} are not finished yet; OOF and decision come when they are")
        return
    device = resolve_device(settings.update.device)
    summary = summarise(loaded, cv_dir, folds, device, tta, decision_metric, decision)
    logger.info(cv_table(summary))
    write_cv_page(cv_dir)  # {cv_dir}/index.html
    log_wandb_summary(settings.bookkeeping, cv_dir, summary)
    if refit:
        epochs, seed = refit_epochs(cv_dir, folds), settings.update.seed
        seeds = [seed + REFIT_SEED_OFFSET + i for i in range(refit)]
        cv_json = json.loads((cv_dir / CV_FILE).read_text(encoding="utf-8"))
        write_json_atomic(cv_dir / CV_FILE, {**cv_json, "refit": refit, "refit_epochs": epochs, "refit_seeds": seeds})
        for i in range(refit):
            run_refit(experiment, {**overrides, "name": name}, cv_dir, i, epochs, seeds[i])


def summarise(
    experiment: Experiment,
    cv_dir: Path,
    folds: int,
    device: Any,
    tta: str | None,
    decision_metric: str,
    decision_family: str = "auto",
) -> dict[str, Any]:
    """Write oof.csv, decision.json and cv.json; returns cv.json's content."""
    f1_weights = experiment.settings.validation.f1_weights
    oof = predict_oof(experiment, cv_dir, folds, device, tta)
    write_oof(cv_dir / OOF_FILE, oof)
    per_fold = []
    for k in range(folds):
        results = json.loads((fold_dir(cv_dir, k) / "results.json").read_text(encoding="utf-8"))
        per_fold.append({"fold": k, **{m: results.get(m) for m in TABLE_METRICS}})
    pooled = scores_of(oof.probabilities.argmax(dim=1), oof.labels, oof.classes, f1_weights)
    decision = build_decision(
        oof.probabilities, oof.labels, oof.folds, oof.classes, decision_metric, f1_weights, decision_family
    )
    write_json_atomic(cv_dir / DECISION_FILE, decision)
    families = decision["families"]  # cv.json: each family's form and gains; decision.json has the per-fold records
    summary = {
        "folds": folds,
        "classes": oof.classes,
        "tta": tta,
        "per_fold": per_fold,
        "mean": {m: statistics.mean(r[m] for r in per_fold) for m in TABLE_METRICS},
        "std": {m: statistics.pstdev(r[m] for r in per_fold) for m in TABLE_METRICS},
        "oof": {m: pooled[m] for m in TABLE_METRICS},
        "oof_images": len(oof.files),
        "decision": {k: decision[k] for k in ("family", "kind", "metric", "scale", "bias", "oof_tuned")}
        | {k: decision[k] for k in ("in_sample_gain", "cross_fitted_gain", "note")}
        | {"families": {f: {k: v for k, v in d.items() if k != "cross_fitted"} for f, d in families.items()}},
    }
    write_json_atomic(cv_dir / CV_FILE, {**json.loads((cv_dir / CV_FILE).read_text(encoding="utf-8")), **summary})
    return summary


def cv_table(summary: dict[str, Any]) -> str:
    """The printed table: per fold, mean ± std, pooled OOF, and the decision's gains."""
    header = f"{'':<14}" + "".join(f"{m:>18}" for m in TABLE_METRICS)
    lines = [header]
    for row in summary["per_fold"]:
        lines.append(f"{'fold ' + str(row['fold']):<14}" + "".join(f"{row[m]:>18.4f}" for m in TABLE_METRICS))
    lines.append(
        f"{'mean ± std':<14}" + "".join(f"{summary['mean'][m]:>11.4f} ± {summary['std'][m]:.3f}" for m in TABLE_METRICS)
    )
    lines.append(f"{'pooled OOF':<14}" + "".join(f"{summary['oof'][m]:>18.4f}" for m in TABLE_METRICS))
    d = summary["decision"]
    lines.append(
        f"decision ({d['metric']}): OOF {d['oof_tuned']:.4f}, in-sample gain {d['in_sample_gain']:+.4f}, "
        f"cross-fitted gain {d['cross_fitted_gain']:+.4f}: {d['note']}"
    )
    for family in FAMILIES if "families" in d else ():
        gains = d["families"][family]
        lines.append(
            f"  {family:<12} in-sample gain {gains['in_sample_gain']:+.4f}, "
            f"cross-fitted gain {gains['cross_fitted_gain']:+.4f}  "
            + " ".join(f"{k}={v}" for k, v in gains["params"].items() if k != "prior")
        )
    return "\n".join(lines)


def log_wandb_summary(keys: Bookkeeping, cv_dir: Path, summary: dict[str, Any]) -> None:
    """One W&B run (job_type "cv") in the folds' group with the per-fold table and the pooled OOF metrics."""
    from ignite_fire.loggers.wandb import log_cv_summary

    rows = [[r["fold"], *(r[m] for m in TABLE_METRICS)] for r in summary["per_fold"]]
    values = {f"oof/{m}": v for m, v in summary["oof"].items()}
    values |= {f"decision/{k}": summary["decision"][k] for k in ("in_sample_gain", "cross_fitted_gain")}
    tables, images = cv_page_items(cv_dir)  # per-class F1 and the OOF confusion matrix of index.html
    log_cv_summary(keys, cv_dir, ["fold", *TABLE_METRICS], rows, values, tables, images)
