"""Decisions tuned for a score: per-class biases added to the log-probabilities before the argmax.

Plain argmax does not maximise a weighted F1 when the classes are imbalanced and weigh differently.
:func:`tune_bias` searches one additive bias per class (coordinate search on a grid) that maximises
the chosen score on out-of-fold probabilities; :func:`cross_fitted_gain` estimates honestly what that
is worth (tune on K-1 folds, score the held-out fold); :func:`~ignite_fire.inference.decision.apply_decision`
(in inference/decision.py) is what predict uses::

    bias = tune_bias(probabilities, labels, classes, "val_score")
    labels = apply_decision(probabilities, {"classes": classes, "bias": bias})

``decision.json`` holds ``{"metric", "classes", "bias", "kind": "bias" | "argmax", "in_sample_gain",
"cross_fitted_gain", ...}``; kind "argmax" (all biases 0) when the cross-fitted gain is not positive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ignite_fire.choices import METRIC_ALIASES, SCORE
from ignite_fire.errors import UserError
from ignite_fire.inference.decision import EPSILON, decide
from ignite_fire.metrics import derived_scores, f1_per_class, weighted_score

GRID = [round(-3.0 + 0.1 * i, 1) for i in range(61)]  # bias values tried for each class
ROUNDS = 4  # coordinate-search passes over the classes


def metric_key(metric: str) -> str:
    """The metrics' key for ``metric`` (``score`` is ``val_score``; the old ``val_weighted_f1`` too)."""
    key = metric if metric.startswith("val_") else f"val_{metric}"
    return METRIC_ALIASES.get(key, key)


def check_metric(metric: str) -> str:
    """The metrics' key of a score the decision can be tuned for; a UserError for any other name."""
    key = metric_key(metric)
    if key not in ("val_acc", "val_macro_f1", SCORE):
        raise UserError(
            f"--decision_metric={metric!r} is not a score: use val_acc, val_macro_f1 or {SCORE}"
        )
    return key


def confusion_of(predicted: torch.Tensor, labels: torch.Tensor, n: int) -> torch.Tensor:
    """The (n, n) confusion matrix of ``predicted`` class indices (rows = true), in one bincount."""
    return torch.bincount(labels * n + predicted, minlength=n * n).reshape(n, n)


def scores_of(
    predicted: torch.Tensor, labels: torch.Tensor, classes: Sequence[str], f1_weights: Mapping[str, float] | None
) -> dict[str, float]:
    """val_acc, val_macro_f1, the competition score and the per-class scores of ``predicted`` class indices."""
    scores = derived_scores(confusion_of(predicted, labels, len(classes)), classes, f1_weights)
    scores["val_acc"] = float((predicted == labels).double().mean().item()) if len(labels) else 0.0
    return scores


def score(
    probabilities: torch.Tensor,
    labels: torch.Tensor,
    classes: Sequence[str],
    metric: str = SCORE,
    bias: Sequence[float] | None = None,
    f1_weights: Mapping[str, float] | None = None,
) -> float:
    """``metric`` of the decision ``argmax(log p + bias)`` (plain argmax without ``bias``)."""
    return fast_score(decide(probabilities, bias), labels, classes, metric, f1_weights)


def fast_score(
    predicted: torch.Tensor,
    labels: torch.Tensor,
    classes: Sequence[str],
    metric: str,
    f1_weights: Mapping[str, float] | None,
) -> float:
    """One score of ``predicted`` in a few tensor operations (the search evaluates thousands of decisions)."""
    key = check_metric(metric)
    if key == "val_acc":
        return float((predicted == labels).double().mean()) if len(labels) else 0.0
    f1 = f1_per_class(confusion_of(predicted, labels, len(classes)))  # the validation metrics' own F1
    if key == "val_macro_f1":
        return float(f1.mean())
    return weighted_score(f1, classes, f1_weights)


def tune_bias(
    probabilities: torch.Tensor,
    labels: torch.Tensor,
    classes: Sequence[str],
    metric: str = SCORE,
    f1_weights: Mapping[str, float] | None = None,
) -> list[float]:
    """Per-class biases maximising ``metric`` (coordinate search over :data:`GRID`; ties keep the smaller change)."""
    log_p = probabilities.double().clamp(min=EPSILON).log()
    bias = [0.0] * len(classes)
    best = fast_score(log_p.argmax(dim=1), labels, classes, metric, f1_weights)
    for _ in range(ROUNDS):
        improved = False
        for c in range(len(classes)):
            for value in sorted(GRID, key=lambda v: abs(v - bias[c])):
                trial = [*bias[:c], value, *bias[c + 1 :]]
                predicted = (log_p + torch.tensor(trial, dtype=torch.float64)).argmax(dim=1)
                trial_score = fast_score(predicted, labels, classes, metric, f1_weights)
                if trial_score > best + 1e-12:
                    best, bias, improved = trial_score, trial, True
        if not improved:
            break
    return bias


def cross_fitted_gain(
    probabilities: torch.Tensor,
    labels: torch.Tensor,
    folds: torch.Tensor,
    classes: Sequence[str],
    metric: str = SCORE,
    f1_weights: Mapping[str, float] | None = None,
) -> tuple[float, list[dict[str, Any]]]:
    """Mean over folds k of (tuned - argmax) ``metric`` on fold k, the biases tuned on the other folds only.

    Returns the mean gain and one record per fold: fold, bias, rows tuned on, rows scored, both scores.
    """
    records: list[dict[str, Any]] = []
    for k in sorted(set(folds.tolist())):
        held = folds == k
        bias = tune_bias(probabilities[~held], labels[~held], classes, metric, f1_weights)
        plain = score(probabilities[held], labels[held], classes, metric, None, f1_weights)
        tuned = score(probabilities[held], labels[held], classes, metric, bias, f1_weights)
        records.append(
            {
                "fold": int(k),
                "bias": bias,
                "tuned_on": int((~held).sum()),
                "scored": int(held.sum()),
                "argmax": plain,
                "tuned": tuned,
                "gain": tuned - plain,
            }
        )
    return sum(r["gain"] for r in records) / len(records), records


def build_decision(
    probabilities: torch.Tensor,
    labels: torch.Tensor,
    folds: torch.Tensor,
    classes: Sequence[str],
    metric: str = SCORE,
    f1_weights: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The decision.json content: the biases tuned on all OOF rows, kept only when the cross-fitted gain is positive."""
    metric = metric_key(metric)
    bias = tune_bias(probabilities, labels, classes, metric, f1_weights)
    plain = score(probabilities, labels, classes, metric, None, f1_weights)
    tuned = score(probabilities, labels, classes, metric, bias, f1_weights)
    crossed, per_fold = cross_fitted_gain(probabilities, labels, folds, classes, metric, f1_weights)
    helps = crossed > 0
    return {
        "kind": "bias" if helps else "argmax",
        "metric": metric,
        "classes": list(classes),
        "bias": bias if helps else [0.0] * len(classes),
        "tuned_bias": bias,
        "oof_argmax": plain,
        "oof_tuned": tuned,
        "in_sample_gain": tuned - plain,
        "cross_fitted_gain": crossed,
        "cross_fitted": per_fold,
        "note": "biases kept: the cross-fitted gain is positive"
        if helps
        else "plain argmax kept: the cross-fitted gain is not positive",
    }
