"""The ``cv`` command: k-fold cross-validation with out-of-fold predictions and a tuned decision."""

from __future__ import annotations

from typing import Any

from ignite_fire.choices import SCORE


def cv(
    experiment: str,
    folds: int = 5,
    fold: int | None = None,
    tta: str | None = None,
    decision_metric: str = SCORE,
    **overrides: Any,
) -> None:
    """Cross-validate EXPERIMENT over --folds folds (--fold=k: only fold k); then OOF, decision and cv.json.

    The folds are runs {output_dir}/{name}/fold{k}; --resume=auto skips finished folds and resumes the
    unfinished one; any config key can be overridden as --key=value.
    """
    from ignite_fire.competition.crossval import cross_validate

    cross_validate(experiment, folds, fold, tta, decision_metric, **overrides)
