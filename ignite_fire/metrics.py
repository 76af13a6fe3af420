"""Validation metrics: accuracy, loss, confusion matrix and the scores derived from it.

All are Ignite metrics, so they are reduced across processes in distributed runs. After each
evaluation ``evaluator.state.metrics`` holds (``C`` = class name):

* ``val_acc`` (fraction 0..1), ``val_loss``
* ``val_macro_f1``, ``val_score`` (the competition score: sum of ``weight_C * F1_C`` with the
  ``f1_weights``; not a mean, so it can exceed 1; ``val_weighted_f1`` is its old name, still accepted)
* ``val_precision/C``, ``val_recall/C``, ``val_f1/C``
* ``val_confusion_matrix``: a (C, C) tensor of counts, rows = true class
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from ignite.engine import Engine, Events
from ignite.metrics import Accuracy, ConfusionMatrix, Loss

# SCORE and metric_names are imported from here too (the metric names live in choices, torch-free).
from ignite_fire.choices import METRIC_ALIASES as METRIC_ALIASES
from ignite_fire.choices import PER_CLASS_METRICS, SCORE
from ignite_fire.choices import metric_names as metric_names

# The competition score's weights for the Tianchi fire-safety classes; other classes weigh 1.
TIANCHI_F1_WEIGHTS = {"高风险": 2.0, "中风险": 1.5, "低风险": 1.0, "无风险": 1.0, "非楼道": 1.0}


def f1_per_class(confusion: torch.Tensor) -> torch.Tensor:
    """F1 per class from a confusion matrix (rows = true, columns = predicted): ``2 TP / (predicted + actual)``.

    The package's one F1: the validation metrics and the decision search (which scores thousands of
    decisions, so this stays a few tensor operations) both call it. A class that is never predicted
    and never present scores 0, as scikit-learn's ``zero_division=0``.
    """
    confusion = confusion.double()
    denominator = confusion.sum(dim=0) + confusion.sum(dim=1)
    return torch.where(denominator > 0, 2 * confusion.diag() / denominator.clamp(min=1), torch.zeros_like(denominator))


def weighted_score(f1: torch.Tensor, classes: Sequence[str], f1_weights: Mapping[str, float] | None) -> float:
    """The competition score: sum of ``weight_C * F1_C`` (:data:`TIANCHI_F1_WEIGHTS` when ``f1_weights`` is None)."""
    weights = f1_weights if f1_weights is not None else TIANCHI_F1_WEIGHTS
    return float((f1 * torch.tensor([float(weights.get(c, 1.0)) for c in classes], dtype=torch.float64)).sum())


def per_class_scores(confusion: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Precision, recall and F1 per class from a confusion matrix (rows = true, columns = predicted).

    A class that is never predicted (or never present) scores 0, as scikit-learn's ``zero_division=0``.
    """
    confusion = confusion.double()
    true_positive = confusion.diag()
    predicted = confusion.sum(dim=0)
    actual = confusion.sum(dim=1)
    precision = torch.where(predicted > 0, true_positive / predicted.clamp(min=1), torch.zeros_like(predicted))
    recall = torch.where(actual > 0, true_positive / actual.clamp(min=1), torch.zeros_like(actual))
    return precision, recall, f1_per_class(confusion)


def derived_scores(
    confusion: torch.Tensor, classes: Sequence[str], f1_weights: Mapping[str, float] | None = None
) -> dict[str, float]:
    """Macro-F1, the competition score and the per-class scores, keyed as in the module docstring."""
    precision, recall, f1 = per_class_scores(confusion)
    scores = {"val_macro_f1": f1.mean().item(), SCORE: weighted_score(f1, classes, f1_weights)}
    for i, name in enumerate(classes):
        for kind, values in zip(PER_CLASS_METRICS, (precision, recall, f1), strict=True):
            scores[f"val_{kind}/{name}"] = values[i].item()
    return scores


def attach_validation_metrics(
    evaluator: Engine,
    classes: Sequence[str],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    f1_weights: Mapping[str, float] | None = None,
    device: str | torch.device = "cpu",
) -> None:
    """Attach the framework's validation metrics to ``evaluator`` (see the module docstring)."""
    Accuracy(device=device).attach(evaluator, "val_acc")
    Loss(loss_fn, device=device).attach(evaluator, "val_loss")
    ConfusionMatrix(num_classes=len(classes), device=device).attach(evaluator, "val_confusion_matrix")

    @evaluator.on(Events.COMPLETED)
    def _derive(engine: Engine) -> None:
        confusion = engine.state.metrics["val_confusion_matrix"].cpu()
        engine.state.metrics["val_confusion_matrix"] = confusion
        engine.state.metrics.update(derived_scores(confusion, classes, f1_weights))


def scalar_metrics(metrics: Mapping[str, object]) -> dict[str, float]:
    """The metrics that are plain numbers (drops tensors such as the confusion matrix)."""
    result: dict[str, float] = {}
    for key, value in metrics.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            result[key] = float(value)
        elif isinstance(value, torch.Tensor) and value.numel() == 1:
            result[key] = float(value.item())
    return result
