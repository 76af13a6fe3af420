"""Decisions tuned for the weighted F1: biases that correct an argmax biased against the heavy class,
a cross-fitted estimate computed on held-out folds only, and plain argmax kept when nothing helps."""

from __future__ import annotations

import pytest
import torch

from ignite_fire.competition.decision import (
    build_decision,
    cross_fitted_gain,
    fast_score,
    score,
    scores_of,
    tune_bias,
)
from ignite_fire.errors import UserError
from ignite_fire.inference.decision import apply_decision
from ignite_fire.metrics import SCORE

CLASSES = ["高风险", "中风险", "低风险"]  # weights 2.0, 1.5, 1.0


def biased_case(n_per_class: int = 60, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Probabilities whose argmax calls most true 高风险 images 低风险 (the model under-predicts the heavy class)."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(3).repeat_interleave(n_per_class)
    logits = torch.randn(len(labels), 3, generator=generator) * 0.3
    logits[torch.arange(len(labels)), labels] += 1.0
    logits[labels == 0, 2] += 1.4  # the heavy class looks like 低风险 to the model
    folds = torch.arange(len(labels)) % 3
    return torch.softmax(logits, dim=1), labels, folds


def test_tuning_raises_the_weighted_score_where_argmax_is_biased_against_the_heavy_class() -> None:
    probabilities, labels, folds = biased_case()
    plain = score(probabilities, labels, CLASSES, SCORE)
    bias = tune_bias(probabilities, labels, CLASSES, SCORE)
    tuned = score(probabilities, labels, CLASSES, SCORE, bias)
    assert tuned > plain + 0.3
    assert bias[0] - bias[2] > 0.5  # it favours the heavy class over the one it was confused with
    decision = build_decision(probabilities, labels, folds, CLASSES)
    assert decision["kind"] == "bias" and decision["bias"] == bias
    assert decision["in_sample_gain"] == pytest.approx(tuned - plain)
    assert decision["cross_fitted_gain"] > 0


def test_the_cross_fitted_estimate_tunes_without_the_fold_it_scores() -> None:
    probabilities, labels, folds = biased_case()
    gain, records = cross_fitted_gain(probabilities, labels, folds, CLASSES)
    assert [r["fold"] for r in records] == [0, 1, 2]
    for record in records:
        held = folds == record["fold"]
        assert record["scored"] == int(held.sum()) and record["tuned_on"] == int((~held).sum())
        assert record["bias"] == tune_bias(probabilities[~held], labels[~held], CLASSES)
        assert record["tuned"] == score(probabilities[held], labels[held], CLASSES, SCORE, record["bias"])
    assert gain == pytest.approx(sum(r["tuned"] - r["argmax"] for r in records) / 3)


def test_plain_argmax_is_kept_when_the_cross_fitted_gain_is_not_positive() -> None:
    labels = torch.arange(3).repeat(20)
    probabilities = torch.nn.functional.one_hot(labels, 3).float() * 0.8 + 0.2 / 3  # argmax is already perfect
    decision = build_decision(probabilities, labels, torch.arange(60) % 2, CLASSES)
    assert decision["kind"] == "argmax" and decision["bias"] == [0.0, 0.0, 0.0]
    assert decision["cross_fitted_gain"] == 0 and "not positive" in decision["note"]


def test_a_decision_for_other_classes_is_refused() -> None:
    with pytest.raises(UserError, match="the decision is for classes"):
        apply_decision(torch.rand(4, 3), {"classes": ["a", "b", "c"], "bias": [0, 0, 0]}, CLASSES)
    with pytest.raises(UserError, match="is not a score"):
        score(torch.rand(4, 3), torch.zeros(4, dtype=torch.long), CLASSES, "val_loss")


def test_the_search_score_equals_the_validation_metrics() -> None:
    generator = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 3, (50,), generator=generator)
    predicted = torch.randint(0, 3, (50,), generator=generator)
    metrics = scores_of(predicted, labels, CLASSES, None)
    for metric in ("val_acc", "val_macro_f1", SCORE):
        assert fast_score(predicted, labels, CLASSES, metric, None) == pytest.approx(metrics[metric])
    weights = {"高风险": 3.0}
    assert fast_score(predicted, labels, CLASSES, SCORE, weights) == pytest.approx(
        scores_of(predicted, labels, CLASSES, weights)[SCORE]
    )


def test_the_search_and_the_validation_metrics_share_one_f1_that_matches_scikit_learn() -> None:
    """A class never predicted and one never present: both callers give scikit-learn's zero_division=0 F1."""
    from sklearn.metrics import f1_score

    labels = torch.tensor([0, 0, 0, 1, 1, 1, 1, 0])  # class 2 is never present
    predicted = torch.tensor([0, 0, 1, 1, 1, 0, 1, 0])  # ... and never predicted; weights 2.0, 1.5, 1.0
    f1 = f1_score(labels, predicted, average=None, labels=[0, 1, 2], zero_division=0)
    metrics = scores_of(predicted, labels, CLASSES, None)
    assert [metrics[f"val_f1/{c}"] for c in CLASSES] == pytest.approx(list(f1))
    assert fast_score(predicted, labels, CLASSES, "val_macro_f1", None) == pytest.approx(f1.mean())
    weighted = fast_score(predicted, labels, CLASSES, SCORE, None)
    assert weighted == metrics[SCORE] == pytest.approx(2.0 * f1[0] + 1.5 * f1[1])
