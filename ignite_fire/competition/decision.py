"""Decisions tuned for a score on out-of-fold probabilities, in families with few or many degrees of freedom.

Plain argmax does not maximise a weighted F1 when the classes are imbalanced and weigh differently.
Every family is one applied form, ``argmax(scale * log p + bias)`` (scale and bias per class), so
:func:`~ignite_fire.inference.decision.apply_decision` (what predict uses) is one function:

* ``prior`` (1 parameter): ``log p + tau * log(pi_train)``, pi_train the class frequencies of the
  OOF labels, tau on :data:`TAU_GRID` (tau < 0 favours the rare classes);
* ``temperature`` (1 parameter): the heavy classes' (f1 weight > 1) ``log p`` divided by T, T on
  :data:`T_GRID` (T > 1 favours them);
* ``shrunk`` (one bias per class, shrunk toward 0): the coordinate search maximises
  ``score - lambda * sum(bias**2)``, lambda on :data:`LAMBDA_GRID` chosen by cross-fitting inside the
  rows it is tuned on (nested inside the cross-fitted estimate);
* ``bias`` (one free bias per class): the coordinate search on :data:`GRID`.

:func:`cross_fitted_gain` estimates honestly what a family is worth (tune on K-1 folds, score the
held-out fold); :func:`build_decision` writes decision.json: with ``--decision=auto`` the family with the
best cross-fitted gain, or plain argmax when no family's gain is positive::

    form = tune_family("prior", probabilities, labels, folds, classes, "val_score")
    labels = apply_decision(probabilities, {"classes": classes, "scale": form.scale, "bias": form.bias}, classes)

``decision.json`` holds ``{"family", "kind" (the same), "metric", "classes", "scale", "bias",
"in_sample_gain", "cross_fitted_gain", "families": {family: its gains and form}, ...}``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from ignite_fire.choices import METRIC_ALIASES, SCORE
from ignite_fire.errors import UserError
from ignite_fire.inference.decision import EPSILON, decide
from ignite_fire.metrics import TIANCHI_F1_WEIGHTS, derived_scores, f1_per_class, weighted_score

GRID = [round(-3.0 + 0.1 * i, 1) for i in range(61)]  # bias values tried for each class
ROUNDS = 4  # coordinate-search passes over the classes
TAU_GRID = [round(-2.0 + 0.05 * i, 2) for i in range(61)]  # prior exponents: -2 (divide the prior out twice) .. 1
T_GRID = [round(2 ** (k / 4), 4) for k in range(-4, 13)]  # heavy-class temperatures 0.5 .. 8, geometric
LAMBDA_GRID = [3.0, 1.0, 0.3, 0.1, 0.03, 0.01, 0.0]  # penalties on sum(bias**2); ties keep the larger one
FAMILIES = ("prior", "temperature", "shrunk", "bias")  # fewest degrees of freedom first: ties keep the simpler
DECISIONS = ("auto", "argmax", *FAMILIES)  # cv's --decision


def metric_key(metric: str) -> str:
    """The metrics' key for ``metric`` (``score`` is ``val_score``; the old ``val_weighted_f1`` too)."""
    key = metric if metric.startswith("val_") else f"val_{metric}"
    return METRIC_ALIASES.get(key, key)


def check_decision(decision: str) -> str:
    """cv's ``--decision``: auto, argmax or a family; a UserError for any other value."""
    if decision not in DECISIONS:
        raise UserError(f"--decision={decision!r} is not a decision family: use {', '.join(DECISIONS)}")
    return decision


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
    scale: Sequence[float] | None = None,
) -> float:
    """``metric`` of the decision ``argmax(scale * log p + bias)`` (plain argmax without either)."""
    return fast_score(decide(probabilities, bias, scale), labels, classes, metric, f1_weights)


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
    penalty: float = 0.0,
) -> list[float]:
    """Per-class biases maximising ``metric - penalty * sum(bias**2)`` (coordinate search over :data:`GRID`;
    ties keep the smaller change)."""
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
                trial_score -= penalty * sum(b * b for b in trial)
                if trial_score > best + 1e-12:
                    best, bias, improved = trial_score, trial, True
        if not improved:
            break
    return bias


@dataclass
class Form:
    """One family's tuned decision as the applied form ``argmax(scale * log p + bias)``, and its parameters."""

    scale: list[float]
    bias: list[float]
    params: dict[str, Any] = field(default_factory=dict)


def heavy_classes(classes: Sequence[str], f1_weights: Mapping[str, float] | None) -> list[int]:
    """Indices of the classes whose f1 weight is above 1 (the Tianchi weights when ``f1_weights`` is None)."""
    weights = f1_weights if f1_weights is not None else TIANCHI_F1_WEIGHTS
    return [c for c, name in enumerate(classes) if float(weights.get(name, 1.0)) > 1.0]


def class_prior(labels: torch.Tensor, n: int) -> torch.Tensor:
    """Class frequencies of ``labels`` (a class with no row counts as half a row: its log stays finite)."""
    counts = torch.bincount(labels, minlength=n).double().clamp(min=0.5)
    return counts / counts.sum()


def inner_folds(folds: torch.Tensor) -> torch.Tensor:
    """The folds to cross-fit within ``folds``' rows: their own, or rows split in two when they are one fold."""
    return folds if len(set(folds.tolist())) >= 2 else torch.arange(len(folds)) % 2


def choose_penalty(
    probabilities: torch.Tensor,
    labels: torch.Tensor,
    folds: torch.Tensor,
    classes: Sequence[str],
    metric: str,
    f1_weights: Mapping[str, float] | None,
) -> float:
    """The :data:`LAMBDA_GRID` penalty whose biases score best on held-out folds of these rows only."""
    inner = inner_folds(folds)
    best, chosen = -float("inf"), LAMBDA_GRID[0]
    for penalty in LAMBDA_GRID:
        held_out = []
        for k in sorted(set(inner.tolist())):
            held = inner == k
            bias = tune_bias(probabilities[~held], labels[~held], classes, metric, f1_weights, penalty)
            held_out.append(score(probabilities[held], labels[held], classes, metric, bias, f1_weights))
        mean = sum(held_out) / len(held_out)
        if mean > best + 1e-12:
            best, chosen = mean, penalty
    return chosen


def tune_family(
    family: str,
    probabilities: torch.Tensor,
    labels: torch.Tensor,
    folds: torch.Tensor,
    classes: Sequence[str],
    metric: str = SCORE,
    f1_weights: Mapping[str, float] | None = None,
) -> Form:
    """``family``'s decision tuned on these rows (``folds`` is used by "shrunk" only, to choose its penalty)."""
    n = len(classes)
    ones, zeros = [1.0] * n, [0.0] * n
    if family == "argmax":
        return Form(ones, zeros)
    if family == "bias":
        return Form(ones, tune_bias(probabilities, labels, classes, metric, f1_weights))
    if family == "shrunk":
        penalty = choose_penalty(probabilities, labels, folds, classes, metric, f1_weights)
        bias = tune_bias(probabilities, labels, classes, metric, f1_weights, penalty)
        return Form(ones, bias, {"lambda": penalty})
    if family == "prior":
        log_prior = class_prior(labels, n).log().tolist()
        best, tau = score(probabilities, labels, classes, metric, None, f1_weights), 0.0
        for value in sorted(TAU_GRID, key=abs):  # ties keep the smaller correction
            trial = score(probabilities, labels, classes, metric, [value * q for q in log_prior], f1_weights)
            if trial > best + 1e-12:
                best, tau = trial, value
        return Form(ones, [tau * q for q in log_prior], {"tau": tau, "prior": class_prior(labels, n).tolist()})
    if family == "temperature":
        heavy = heavy_classes(classes, f1_weights)
        best, temperature = score(probabilities, labels, classes, metric, None, f1_weights), 1.0
        for value in sorted(T_GRID, key=lambda t: abs(math.log(t))) if heavy else []:
            scale = [1.0 / value if c in heavy else 1.0 for c in range(n)]
            trial = score(probabilities, labels, classes, metric, None, f1_weights, scale)
            if trial > best + 1e-12:
                best, temperature = trial, value
        scale = [1.0 / temperature if c in heavy else 1.0 for c in range(n)]
        return Form(scale, zeros, {"T": temperature, "heavy": [classes[c] for c in heavy]})
    raise UserError(f"--decision={family!r} is not a decision family: use {', '.join(DECISIONS)}")


def cross_fitted_gain(
    probabilities: torch.Tensor,
    labels: torch.Tensor,
    folds: torch.Tensor,
    classes: Sequence[str],
    metric: str = SCORE,
    f1_weights: Mapping[str, float] | None = None,
    family: str = "bias",
) -> tuple[float, list[dict[str, Any]]]:
    """Mean over folds k of (tuned - argmax) ``metric`` on fold k, ``family`` tuned on the other folds only.

    Returns the mean gain and one record per fold: fold, the form (scale, bias, params), rows tuned on,
    rows scored, both scores.
    """
    records: list[dict[str, Any]] = []
    for k in sorted(set(folds.tolist())):
        held = folds == k
        form = tune_family(family, probabilities[~held], labels[~held], folds[~held], classes, metric, f1_weights)
        plain = score(probabilities[held], labels[held], classes, metric, None, f1_weights)
        tuned = score(probabilities[held], labels[held], classes, metric, form.bias, f1_weights, form.scale)
        records.append(
            {
                "fold": int(k),
                "scale": form.scale,
                "bias": form.bias,
                "params": form.params,
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
    decision: str = "auto",
) -> dict[str, Any]:
    """The decision.json content: every family tuned on all OOF rows with its in-sample and cross-fitted gains,
    and the one applied: ``decision`` itself, or (auto) the best cross-fitted family when its gain is positive."""
    metric = metric_key(metric)
    check_decision(decision)
    plain = score(probabilities, labels, classes, metric, None, f1_weights)
    families: dict[str, dict[str, Any]] = {}
    for family in FAMILIES:
        form = tune_family(family, probabilities, labels, folds, classes, metric, f1_weights)
        tuned = score(probabilities, labels, classes, metric, form.bias, f1_weights, form.scale)
        crossed, per_fold = cross_fitted_gain(probabilities, labels, folds, classes, metric, f1_weights, family)
        families[family] = {
            "scale": form.scale,
            "bias": form.bias,
            "params": form.params,
            "oof_tuned": tuned,
            "in_sample_gain": tuned - plain,
            "cross_fitted_gain": crossed,
            "cross_fitted": per_fold,
        }
    best = max(FAMILIES, key=lambda f: families[f]["cross_fitted_gain"])  # the first of equals: the simpler
    if decision == "auto":
        chosen = best if families[best]["cross_fitted_gain"] > 0 else "argmax"
        note = (
            f"{chosen} kept: the best cross-fitted gain ({families[best]['cross_fitted_gain']:+.4f})"
            if chosen != "argmax"
            else f"plain argmax kept: the cross-fitted gain is not positive for any family "
            f"(best: {best} {families[best]['cross_fitted_gain']:+.4f})"
        )
    else:
        chosen, note = decision, f"{decision} applied: asked for with --decision={decision}"
    n = len(classes)
    applied = families.get(chosen, {"scale": [1.0] * n, "bias": [0.0] * n, "params": {}, "oof_tuned": plain})
    return {
        "family": chosen,
        "kind": chosen,  # the key older readers know ("bias" or "argmax" before the families)
        "decision": decision,
        "metric": metric,
        "classes": list(classes),
        "scale": applied["scale"],
        "bias": applied["bias"],
        "params": applied["params"],
        "tuned_bias": families["bias"]["bias"],
        "oof_argmax": plain,
        "oof_tuned": applied["oof_tuned"],
        "in_sample_gain": applied["oof_tuned"] - plain,
        "cross_fitted_gain": families[chosen]["cross_fitted_gain"] if chosen in families else 0.0,
        "cross_fitted": families["bias"]["cross_fitted"],
        "families": families,
        "note": note,
    }
