"""Decisions tuned for the weighted F1: each family corrects an argmax biased against the heavy class,
a cross-fitted estimate computed on held-out folds only, and plain argmax kept when nothing helps."""

from __future__ import annotations

import pytest
import torch

from ignite_fire.competition.decision import (
    FAMILIES,
    build_decision,
    class_prior,
    cross_fitted_gain,
    fast_score,
    score,
    scores_of,
    tune_bias,
    tune_family,
)
from ignite_fire.errors import UserError
from ignite_fire.inference.decision import apply_decision, decide
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


def prior_case(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Probabilities of a model that over-weighs the class prior: the rare heavy class 高风险 is rarely predicted."""
    generator = torch.Generator().manual_seed(seed)
    counts = [30, 90, 90]
    labels = torch.cat([torch.full((n,), c) for c, n in enumerate(counts)])
    logits = torch.randn(len(labels), 3, generator=generator) * 0.8
    logits[torch.arange(len(labels)), labels] += 1.0
    logits += 1.5 * torch.tensor(counts, dtype=torch.float).div(sum(counts)).log()
    return torch.softmax(logits, dim=1), labels, torch.arange(len(labels)) % 3


def conflicting_case(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two folds biased in opposite ways: what is tuned on one fold hurts the other."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.cat([torch.full((n,), c) for c, n in enumerate([40, 80, 80])])
    folds = torch.arange(len(labels)) % 2
    logits = torch.randn(len(labels), 3, generator=generator) * 0.3
    logits[torch.arange(len(labels)), labels] += 1.0
    logits[(labels == 0) & (folds == 0), 2] += 1.4  # fold 0 under-predicts the heavy class
    logits[(labels == 2) & (folds == 1), 0] += 1.4  # fold 1 over-predicts it
    return torch.softmax(logits, dim=1), labels, folds


CASES = {"prior": prior_case, "temperature": biased_case, "shrunk": biased_case, "bias": biased_case}


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_raises_the_score_where_argmax_is_biased(family: str) -> None:
    probabilities, labels, folds = CASES[family]()
    plain = score(probabilities, labels, CLASSES, SCORE)
    form = tune_family(family, probabilities, labels, folds, CLASSES)
    assert score(probabilities, labels, CLASSES, SCORE, form.bias, None, form.scale) > plain + 0.3
    gain, _ = cross_fitted_gain(probabilities, labels, folds, CLASSES, family=family)
    assert gain > 0.2  # it also helps on folds it was not tuned on
    forced = build_decision(probabilities, labels, folds, CLASSES, decision=family)
    assert forced["family"] == family and (forced["scale"], forced["bias"]) == (form.scale, form.bias)
    assert forced["families"][family]["cross_fitted_gain"] == pytest.approx(gain)
    applied = apply_decision(probabilities, forced, CLASSES)
    assert applied.tolist() == decide(probabilities, form.bias, form.scale).tolist()


def test_the_families_have_their_few_degrees_of_freedom() -> None:
    probabilities, labels, folds = prior_case()
    prior = tune_family("prior", probabilities, labels, folds, CLASSES)
    tau = prior.params["tau"]
    assert tau < 0 and prior.scale == [1.0] * 3  # it divides the over-weighed prior out
    assert prior.bias == pytest.approx((tau * class_prior(labels, 3).log()).tolist())
    probabilities, labels, folds = biased_case()
    temperature = tune_family("temperature", probabilities, labels, folds, CLASSES)
    t = temperature.params["T"]
    assert t > 1 and temperature.scale == [1 / t, 1 / t, 1.0] and temperature.bias == [0.0] * 3  # 2.0, 1.5 are heavy
    shrunk = tune_family("shrunk", probabilities, labels, folds, CLASSES)
    free = tune_family("bias", probabilities, labels, folds, CLASSES)
    assert sum(b * b for b in shrunk.bias) <= sum(b * b for b in free.bias)


@pytest.mark.parametrize("family", FAMILIES)
def test_each_cross_fitted_record_is_tuned_without_its_fold(family: str) -> None:
    probabilities, labels, folds = CASES[family]()
    _, records = cross_fitted_gain(probabilities, labels, folds, CLASSES, family=family)
    for record in records:
        held = folds == record["fold"]
        form = tune_family(family, probabilities[~held], labels[~held], folds[~held], CLASSES)
        assert (record["scale"], record["bias"]) == (form.scale, form.bias)
        scrambled = labels.clone()
        scrambled[held] = (labels[held] + 1) % 3  # the held-out fold's labels changed: its form must not move
        _, again = cross_fitted_gain(probabilities, scrambled, folds, CLASSES, family=family)
        assert (again[record["fold"]]["scale"], again[record["fold"]]["bias"]) == (form.scale, form.bias)


def test_auto_keeps_argmax_when_every_family_cross_fits_negative() -> None:
    probabilities, labels, folds = conflicting_case()
    decision = build_decision(probabilities, labels, folds, CLASSES)
    gains = {family: decision["families"][family]["cross_fitted_gain"] for family in FAMILIES}
    assert all(gain < 0 for gain in gains.values()), gains
    in_sample = {family: decision["families"][family]["in_sample_gain"] for family in FAMILIES}
    assert all(in_sample[f] > 0 for f in ("prior", "temperature", "bias")), in_sample  # they look good in-sample
    assert in_sample["shrunk"] >= 0  # (its nested choice of the penalty may already shrink it to argmax)
    assert decision["family"] == "argmax" and decision["bias"] == [0.0] * 3 and decision["scale"] == [1.0] * 3
    assert apply_decision(probabilities, decision, CLASSES).tolist() == probabilities.argmax(dim=1).tolist()


def test_auto_picks_the_best_cross_fitted_family() -> None:
    probabilities, labels, folds = prior_case()
    decision = build_decision(probabilities, labels, folds, CLASSES)
    best = max(FAMILIES, key=lambda f: decision["families"][f]["cross_fitted_gain"])
    assert decision["family"] == best and decision["cross_fitted_gain"] > 0


def test_an_old_decision_without_scale_still_applies() -> None:
    probabilities, _, _ = biased_case()
    old = {"kind": "bias", "classes": CLASSES, "bias": [0.7, 0.4, -0.2]}
    assert apply_decision(probabilities, old, CLASSES).tolist() == decide(probabilities, old["bias"]).tolist()


def test_tuning_raises_the_weighted_score_where_argmax_is_biased_against_the_heavy_class() -> None:
    probabilities, labels, folds = biased_case()
    plain = score(probabilities, labels, CLASSES, SCORE)
    bias = tune_bias(probabilities, labels, CLASSES, SCORE)
    tuned = score(probabilities, labels, CLASSES, SCORE, bias)
    assert tuned > plain + 0.3
    assert bias[0] - bias[2] > 0.5  # it favours the heavy class over the one it was confused with
    decision = build_decision(probabilities, labels, folds, CLASSES, decision="bias")
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
