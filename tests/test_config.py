"""The config schema: types, choices, ranges, rules between keys, data-dependent keys, --help text."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from ignite_fire.config import (
    DEFAULTS,
    SCHEMA,
    Key,
    RunConfig,
    allowed_text,
    apply_overrides,
    check_config,
    check_data_keys,
    describe_keys,
)
from ignite_fire.errors import UserError
from ignite_fire.experiment import experiment_from_config, load_experiment
from ignite_fire.training import train
from tests.helpers import TINY_EXPERIMENT


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
        ({"epochs": 0}, "--epochs=0 is out of range: must be >= 1"),
        ({"epochs": -1}, "--epochs=-1 is out of range: must be >= 1"),
        ({"image_size": 3}, "--image_size=3 is out of range: must be >= 16"),
        ({"learning_rate": 0}, "--learning_rate=0 is out of range: must be > 0"),
        ({"val_fraction": 1.0}, "--val_fraction=1.0 is out of range: must be > 0 and < 1"),
        ({"focal_alpha": [1, -1]}, "--focal_alpha=[1, -1] is out of range: every value must be >= 0"),
        ({"focal_alpha": ["a"]}, "--focal_alpha=['a'] has the wrong type: expected a list of numbers"),
        ({"num_workers": None}, None),
        ({"grad_clip": None, "ema_decay": 0.5}, None),
    ],
)
def test_overrides_are_checked_one_line_each(overrides: dict, message: str | None) -> None:
    if message is None:
        apply_overrides(DEFAULTS, overrides)
        return
    with pytest.raises(UserError) as error:
        apply_overrides(DEFAULTS, overrides)
    assert str(error.value) == message


def _just_outside(spec: Key) -> list[float]:
    """Values just outside each bound of ``spec`` (of the key's own number type)."""
    step = 1 if spec.types in ((int,), (type(None), int)) else 0.5
    values = []
    if spec.ge is not None:
        values.append(spec.ge - step)
    if spec.gt is not None:
        values.append(spec.gt)
    if spec.le is not None:
        values.append(spec.le + step)
    if spec.lt is not None:
        values.append(spec.lt)
    return [int(v) if step == 1 else float(v) for v in values]


BOUNDED = [(key, value) for key, spec in SCHEMA.items() for value in _just_outside(spec)]


def test_every_range_key_is_tested() -> None:
    keys = {key for key, _ in BOUNDED}
    for key in ("batch_size", "epochs", "learning_rate", "num_workers", "n_saved", "accumulation_steps"):
        assert key in keys
    assert len(keys) >= 30


@pytest.mark.parametrize(("key", "value"), BOUNDED)
def test_a_value_out_of_range_is_refused_before_any_data(key: str, value: float) -> None:
    if SCHEMA[key].types[-1] in (list, dict) and key != "focal_alpha":
        value = {"a": value} if dict in SCHEMA[key].types else [value, value]
    with pytest.raises(UserError) as error:
        experiment_from_config("x", {"data_dir": "/nonexistent", key: value})
    message = str(error.value)
    assert message.startswith(f"--{key}={value!r} is out of range: ") and SCHEMA[key].range_text() in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"folds": 5, "fold": 5}, "--fold=5 is out of range: with --folds=5 it must be 0 .. 4"),
        ({"class_weights": "inverse"}, "--class_weights='inverse' is not allowed: use 'auto', None, or one number"),
        ({"classes": ["a", "a"]}, "--classes=['a', 'a'] is not allowed: name two or more different classes"),
        ({"classes": ["a"]}, "--classes=['a'] is not allowed: name two or more different classes"),
        ({"classes": ["a", 1]}, "--classes=['a', 1] has the wrong type: expected a list of class names"),
        ({"f1_weights": {1: 2.0}}, "--f1_weights={1: 2.0} has the wrong type: expected {class name: weight}"),
        ({"checkpoint_metric": "nonsense"}, "--checkpoint_metric='nonsense' is not a validation metric: choose one"),
        ({"checkpoint_metric": "val_f2/a"}, "--checkpoint_metric='val_f2/a' is not a validation metric"),
        ({"loggers": "csv,mlflow"}, "--loggers='csv,mlflow' is not allowed: 'mlflow' is not one of wandb"),
        ({"augment_magnitude": 5}, "--augment_magnitude applies to randaugment and augmix, not to none: unset it"),
        (
            {"augment": "randaugment", "augment_magnitude": 31},
            "--augment_magnitude=31 is out of range: for randaugment it must be 0 .. 30",
        ),
        ({"augment": "augmix", "augment_magnitude": 0}, "--augment_magnitude=0 is out of range: for augmix it must be"),
        ({"model": "resnet19"}, "unknown model 'resnet19': try one of resnet18"),
        ({"model": "convnext_tiny", "image_size": 24}, "--image_size=24 is too small for convnext_tiny: it needs"),
        ({"model": "vit_b_16", "image_size": 160}, "--image_size=160 does not fit vit_b_16: it takes 224 px"),
    ],
)
def test_rules_between_keys_are_checked_before_any_data(config: dict, message: str) -> None:
    with pytest.raises(UserError) as error:
        experiment_from_config("x", {"data_dir": "/nonexistent", **config})
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_check_config_accepts_the_defaults_and_every_experiment() -> None:
    check_config(DEFAULTS)
    for path in sorted((Path(__file__).parents[1] / "experiments").glob("*.py")):
        load_experiment(path)  # each is checked on loading


def test_the_old_score_name_is_an_alias() -> None:
    config = apply_overrides(DEFAULTS, {"checkpoint_metric": "val_weighted_f1"})
    assert config["checkpoint_metric"] == "val_score"
    check_data_keys(RunConfig.from_dict({**DEFAULTS, "checkpoint_metric": "val_weighted_f1"}), ["a", "b"])
    with pytest.raises(UserError, match="'val_acc' is not a validation metric: choose one of val_loss, val_top5$"):
        check_data_keys(
            RunConfig.from_dict(DEFAULTS), ["a", "b"], metrics=["val_loss", "val_top5"]
        )  # a run's own metric list


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"checkpoint_metric": "val_f1/c"},
            "--checkpoint_metric='val_f1/c' is not a validation metric: choose one of val_acc, val_loss, "
            "val_macro_f1, val_score, val_precision/CLASS, val_recall/CLASS, val_f1/CLASS with CLASS one of a, b",
        ),
        ({"f1_weights": {"a": 2, "c": 1}}, "--f1_weights names 'c', not a class of this data: the classes are a, b"),
        ({"focal_alpha": [1, 2, 3]}, "--focal_alpha has 3 values but there are 2 classes (a, b)"),
        ({"class_weights": [1]}, "--class_weights has 1 values but there are 2 classes (a, b)"),
    ],
)
def test_keys_that_name_classes_are_checked_against_the_data(config: dict, message: str) -> None:
    check_data_keys(
        RunConfig.from_dict({**DEFAULTS, "checkpoint_metric": "val_f1/a", "focal_alpha": [1, 1]}), ["a", "b"]
    )
    with pytest.raises(UserError) as error:
        check_data_keys(RunConfig.from_dict({**DEFAULTS, **config}), ["a", "b"])
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"checkpoint_metric": "val_recall/seven"}, "--checkpoint_metric='val_recall/seven' is not a validation"),
        ({"f1_weights": {"7": 2.0, "eight": 1.0}}, "--f1_weights names 'eight', not a class of this data"),
    ],
)
def test_a_run_refuses_data_keys_before_the_first_iteration(
    digits_dir: Path, tmp_path: Path, overrides: dict, message: str
) -> None:
    config = {"data_dir": str(digits_dir), "output_dir": str(tmp_path), "name": "r", "wandb_mode": "disabled"}
    with pytest.raises(UserError, match=message):
        train(load_experiment(TINY_EXPERIMENT, {**config, **overrides}))
    assert not (tmp_path / "r" / "history.json").exists() and not (tmp_path / "r" / "checkpoints").exists()


def test_describe_keys_lists_every_key_with_its_range_and_meaning() -> None:
    experiment = load_experiment(TINY_EXPERIMENT, {"epochs": 2})
    text = describe_keys({**experiment.config, "my_key": 0.5})
    lines = text.splitlines()
    for key, spec in SCHEMA.items():
        (line,) = [line for line in lines if line.startswith(f"  --{key}=")]
        assert allowed_text(key) in line and spec.help in line
        assert spec.range_text() in line
    assert "  --epochs=2 " in text and "[default: 5]" in text
    assert "int >= 1" in text and "number > 0 and < 1" in text and "Adam|AdamW|SGD" in text
    own = lines.index("This experiment's own keys (not in the framework's schema):")
    assert lines[own + 1].startswith("  --my_key=0.5") and "float" in lines[own + 1]
    assert max(len(line) for line in lines) < 160


def test_model_override_on_an_experiment_with_its_own_model_warns(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="--model has no effect: .*tiny_experiment.py builds its own model"):
        load_experiment(TINY_EXPERIMENT, {"model": "resnet50"})
    reads = tmp_path / "reads_model.py"
    reads.write_text("config = {}\n\ndef build_model(config, num_classes):\n    return config['model']\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_experiment(reads, {"model": "resnet50"})  # its build_model reads config["model"]: no warning


def _cli_error(capfd: pytest.CaptureFixture, *args: str) -> str:
    from ignite_fire.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    assert exit_.value.code == 2
    lines = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("ignite_fire: error: ")
    return lines[0].removeprefix("ignite_fire: error: ")


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("--image_size=3", "--image_size=3 is out of range: must be >= 16"),
        ("--epochs=0", "--epochs=0 is out of range: must be >= 1"),
        ("--epochs=-1", "--epochs=-1 is out of range: must be >= 1"),
        ("--checkpoint_metric=nonsense", "--checkpoint_metric='nonsense' is not a validation metric"),
    ],
)
def test_cli_refuses_bad_values_in_one_line(
    capfd: pytest.CaptureFixture, tmp_path: Path, arg: str, message: str
) -> None:
    assert _cli_error(capfd, str(TINY_EXPERIMENT), f"--output_dir={tmp_path}", arg).startswith(message)
    assert not any(tmp_path.iterdir())  # refused before the run directory is made
