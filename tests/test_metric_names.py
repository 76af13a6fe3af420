"""One message for a name that is not a validation metric: the config check, the checkpoint score
and a sweep's metric.name all say it the same way, each with the names to choose from."""

from __future__ import annotations

import pytest
from ignite.engine import Engine

from ignite_fire.config import DEFAULTS, RunConfig, check_config, check_data_keys
from ignite_fire.errors import UserError
from ignite_fire.handlers.checkpoints import metric_score
from ignite_fire.sweeps.config import parse_sweep

FRAMEWORK = "val_acc, val_loss, val_macro_f1, val_score, val_precision/CLASS, val_recall/CLASS, val_f1/CLASS"


def message(call, *args, **kwargs) -> str:
    with pytest.raises(UserError) as caught:
        call(*args, **kwargs)
    assert "\n" not in str(caught.value)
    return str(caught.value)


def test_every_caller_says_the_same_line() -> None:
    assert message(check_config, {**DEFAULTS, "checkpoint_metric": "val_f2"}) == (
        f"--checkpoint_metric='val_f2' is not a validation metric: choose one of {FRAMEWORK}"
    )
    typed = RunConfig.from_dict({**DEFAULTS, "checkpoint_metric": "val_f1/c"})
    assert message(check_data_keys, typed, ["a", "b"]) == (
        f"--checkpoint_metric='val_f1/c' is not a validation metric: choose one of {FRAMEWORK} with CLASS one of a, b"
    )
    evaluator = Engine(lambda engine, batch: None)
    evaluator.state.metrics = {"val_loss": 0.5, "val_top5": 0.9, "val_confusion_matrix": None}
    assert message(metric_score("val_acc"), evaluator) == (
        "--checkpoint_metric='val_acc' is not a validation metric: choose one of val_loss, val_top5"
    )
    sweep = {"method": "random", "metric": {"name": "accuracy"}, "parameters": {"epochs": {"min": 1, "max": 3}}}
    assert message(parse_sweep, sweep, dict(DEFAULTS), {}, "exp.py") == (
        f"exp.py: sweep metric.name: 'accuracy' is not a validation metric: choose one of {FRAMEWORK}"
    )
