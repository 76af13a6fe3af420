"""Config overrides: types, choices and the closest-key suggestion."""

from __future__ import annotations

import pytest

from ignite_fire.config import DEFAULTS, apply_overrides
from ignite_fire.errors import UserError


def test_overrides_replace_values_and_keep_the_rest() -> None:
    config = apply_overrides(DEFAULTS, {"epochs": 2, "learning_rate": 1, "amp": False, "classes": ("a", "b")})
    assert config["epochs"] == 2 and config["learning_rate"] == 1 and config["amp"] is False
    assert config["classes"] == ["a", "b"] and config["batch_size"] == DEFAULTS["batch_size"]
    assert DEFAULTS["epochs"] == 5  # the defaults themselves are untouched


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"learnin_rate": 0.1}, "unknown config key --learnin_rate; did you mean --learning_rate?"),
        ({"zzz": 1}, "unknown config key --zzz; see the experiment's config for valid keys"),
        ({"epochs": 2.5}, "--epochs=2.5 has the wrong type: expected int, got float"),
        ({"epochs": True}, "--epochs=True has the wrong type: expected int, got bool"),
        ({"pretrained": 1}, "--pretrained=1 has the wrong type: expected bool or str, got int"),  # str: a weights file
        ({"optimizer": "Adagrad"}, "--optimizer='Adagrad' is not allowed: choose one of 'Adam', 'AdamW', 'SGD'"),
    ],
)
def test_bad_overrides_are_one_line_errors(overrides: dict, message: str) -> None:
    with pytest.raises(UserError) as error:
        apply_overrides(DEFAULTS, overrides)
    assert str(error.value) == message
