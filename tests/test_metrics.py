"""Scores derived from the confusion matrix agree with scikit-learn."""

from __future__ import annotations

import pytest
import torch
from sklearn.metrics import f1_score, precision_score, recall_score

from ignite_fire.metrics import TIANCHI_F1_WEIGHTS, derived_scores, metric_names


def test_per_class_and_macro_scores_match_scikit_learn() -> None:
    generator = torch.Generator().manual_seed(0)
    y_true = torch.randint(0, 5, (300,), generator=generator)
    y_pred = torch.where(
        torch.rand(300, generator=generator) < 0.6, y_true, torch.randint(0, 5, (300,), generator=generator)
    )
    y_pred[y_pred == 4] = 3  # class 4 is never predicted: its precision is 0 (zero_division=0)
    confusion = torch.zeros(5, 5, dtype=torch.long)
    for t, p in zip(y_true.tolist(), y_pred.tolist(), strict=True):
        confusion[t, p] += 1
    classes = list(TIANCHI_F1_WEIGHTS)
    scores = derived_scores(confusion, classes)
    f1 = f1_score(y_true, y_pred, average=None, zero_division=0)
    assert scores["val_macro_f1"] == pytest.approx(f1.mean())
    weights = [2.0, 1.5, 1.0, 1.0, 1.0]
    assert scores["val_score"] == pytest.approx(sum(w * f for w, f in zip(weights, f1, strict=True)))
    precision = precision_score(y_true, y_pred, average=None, zero_division=0)
    recall = recall_score(y_true, y_pred, average=None, zero_division=0)
    for i, name in enumerate(classes):
        assert scores[f"val_f1/{name}"] == pytest.approx(f1[i])
        assert scores[f"val_precision/{name}"] == pytest.approx(precision[i])
        assert scores[f"val_recall/{name}"] == pytest.approx(recall[i])


def test_metric_names_are_the_scores_a_run_computes() -> None:
    """The names the config check accepts for checkpoint_metric are exactly the names computed."""
    confusion = torch.tensor([[3, 1], [2, 4]])
    scores = derived_scores(confusion, ["a", "b"], {"a": 2.0})
    assert set(metric_names(["a", "b"])) == {"val_acc", "val_loss", *scores}
    assert "val_score" in scores and "val_weighted_f1" not in scores
    f1_a, f1_b = 2 * 3 / (2 * 3 + 1 + 2), 2 * 4 / (2 * 4 + 2 + 1)
    assert scores["val_score"] == pytest.approx(2.0 * f1_a + f1_b)  # f1_weights: a weighs 2, b (unnamed) 1
