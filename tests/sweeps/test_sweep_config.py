"""The W&B sweep config: conversion to an Optuna search space, and one-line errors naming the bad key."""

from __future__ import annotations

import copy
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from ignite_fire.cli import main
from ignite_fire.config import DEFAULTS
from ignite_fire.errors import UserError
from ignite_fire.experiment import load_experiment
from ignite_fire.sweeps.config import Hyperband, build_pruner, build_sampler, parse_sweep
from ignite_fire.sweeps.wandb_backend import agent_params

REPO = Path(__file__).resolve().parents[2]
SWEEP_EXPERIMENT = REPO / "tests" / "sweeps" / "sweep_experiment.py"

# The seed document's sweep, verbatim.
SEED_SWEEP = {
    "method": "bayes",
    "metric": {"name": "val_acc", "goal": "maximize"},
    "parameters": {
        "learning_rate": {"min": 0.0001, "max": 0.01},
        "batch_size": {"values": [16, 32, 64]},
        "model": {"values": ["resnet18", "efficientnet_b0", "efficientnet_b4"]},
    },
}


def parse(sweep: dict, fixed: dict | None = None):
    return parse_sweep(sweep, dict(DEFAULTS), fixed or {}, "exp.py")


def test_seed_sweep_converts_to_optuna_space() -> None:
    spec = parse(SEED_SWEEP)
    assert spec.method == "bayes" and spec.metric == "val_acc" and spec.goal == "maximize"
    assert spec.parameters == {
        "learning_rate": FloatDistribution(0.0001, 0.01),
        "batch_size": CategoricalDistribution([16, 32, 64]),
        "model": CategoricalDistribution(["resnet18", "efficientnet_b0", "efficientnet_b4"]),
    }
    assert isinstance(build_sampler(spec, seed=0), optuna.samplers.TPESampler)
    assert isinstance(build_pruner(spec), optuna.pruners.NopPruner)


def test_distributions_fixed_values_and_command_line() -> None:
    sweep = {
        "method": "random",
        "parameters": {
            "epochs": {"min": 2, "max": 6},  # int bounds: integers
            "learning_rate": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-2},
            "weight_decay": {"distribution": "q_uniform", "min": 0.0, "max": 0.1, "q": 0.01},
            "seed": {"distribution": "int_uniform", "min": 0, "max": 3},
            "label_smoothing": {"value": 0.1},
            "model": {"values": ["resnet18", "resnet50"]},
        },
    }
    spec = parse(sweep, fixed={"model": "resnet18"})
    assert spec.parameters["epochs"] == IntDistribution(2, 6)
    assert spec.parameters["learning_rate"] == FloatDistribution(1e-4, 1e-2, log=True)
    assert spec.parameters["weight_decay"] == FloatDistribution(0.0, 0.1, step=0.01)
    assert spec.parameters["seed"] == IntDistribution(0, 3)
    assert "model" not in spec.parameters  # --model=resnet18 takes it out of the search space
    assert spec.fixed == {"label_smoothing": 0.1, "model": "resnet18"}
    assert spec.metric == "val_acc" and spec.goal == "maximize"  # W&B's metric defaults to checkpoint_metric
    assert isinstance(build_sampler(spec, seed=0), optuna.samplers.RandomSampler)


def test_grid_and_hyperband() -> None:
    sweep = {
        "method": "grid",
        "metric": {"name": "val_loss", "goal": "minimize"},
        "parameters": {"batch_size": {"values": [16, 32]}, "epochs": {"min": 1, "max": 3}},
        "early_terminate": {"type": "hyperband", "max_iter": 27, "s": 2, "eta": 3},
    }
    spec = parse(sweep)
    sampler = build_sampler(spec, seed=0)
    assert isinstance(sampler, optuna.samplers.GridSampler)
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: t.suggest_categorical("batch_size", [16, 32]) + t.suggest_int("epochs", 1, 3), 20)
    assert sorted((t.params["batch_size"], t.params["epochs"]) for t in study.trials) == [
        (b, e) for b in (16, 32) for e in (1, 2, 3)
    ]  # every combination once, then the grid stops
    assert spec.hyperband == Hyperband(min_iter=3, eta=3)  # W&B's brackets for max_iter 27, s 2: 3 and 9
    pruner = build_pruner(spec)
    assert isinstance(pruner, optuna.pruners.SuccessiveHalvingPruner)


def _with(path: str, value) -> dict:
    """SEED_SWEEP with the dotted ``path`` set to ``value`` (None deletes it)."""
    sweep = copy.deepcopy(SEED_SWEEP)
    *parents, last = path.split(".")
    node = sweep
    for key in parents:
        node = node.setdefault(key, {})
    if value is None:
        del node[last]
    else:
        node[last] = value
    return sweep


@pytest.mark.parametrize(
    ("sweep", "named"),
    [
        (_with("method", "bayesian"), "sweep method"),
        (_with("metod", "bayes"), "sweep metod"),
        (_with("metric.name", "accuracy"), "sweep metric.name"),
        (_with("metric.goal", "minimize"), "sweep metric.goal"),
        (_with("parameters.lr", {"values": [0.1]}), "sweep parameters.lr"),
        (_with("parameters.learning_rate.distribution", "normal"), "sweep parameters.learning_rate.distribution"),
        (_with("parameters.learning_rate.max", 0.00001), "sweep parameters.learning_rate.min"),
        (_with("parameters.learning_rate.probabilities", [0.5]), "sweep parameters.learning_rate.probabilities"),
        (_with("parameters.batch_size.values", [16, "big"]), "sweep parameters.batch_size.values"),
        (_with("parameters.name", {"values": ["a", "b"]}), "sweep parameters.name"),
        (_with("parameters.optimizer", {"values": ["Adam", "Adagrad"]}), "sweep parameters.optimizer"),
        (_with("early_terminate", {"type": "median"}), "sweep early_terminate.type"),
        (_with("early_terminate", {"type": "hyperband", "min_iter": 1, "eta": 1}), "sweep early_terminate.eta"),
        (_with("early_terminate", {"type": "hyperband", "eta": 3}), "sweep early_terminate"),
        (_with("method", "grid"), "sweep parameters.learning_rate"),  # grid needs values
    ],
)
def test_invalid_sweeps_name_the_bad_key(sweep: dict, named: str) -> None:
    with pytest.raises(UserError) as error:
        parse(sweep)
    assert named in str(error.value)
    assert "\n" not in str(error.value)


def test_shipped_sweep_bayes_has_the_seed_search_space() -> None:
    experiment = load_experiment(REPO / "experiments" / "sweep_bayes.py")
    spec = parse_sweep(experiment.sweep, experiment.config, {}, "sweep_bayes.py")
    assert spec.method == "bayes" and spec.metric == "val_acc" and spec.goal == "maximize"
    learning_rate = spec.parameters["learning_rate"]
    assert (learning_rate.low, learning_rate.high) == (1e-4, 1e-2)
    assert spec.parameters["batch_size"] == CategoricalDistribution([16, 32, 64])
    assert spec.parameters["model"] == CategoricalDistribution(["resnet18", "efficientnet_b0", "efficientnet_b4"])


@pytest.mark.usefixtures("restore_logging")
def test_cli_rejects_a_bad_sweep_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    experiment = tmp_path / "bad_sweep.py"
    experiment.write_text(f"config = {{}}\nsweep = {_with('parameters.batch_size', {'min': 16})!r}\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["sweep", str(experiment), f"--output_dir={tmp_path}"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ignite_fire: error: ") and "\n" not in err
    assert "sweep parameters.batch_size" in err and "needs both min and max" in err


@pytest.mark.usefixtures("restore_logging")
def test_wandb_backend_refused_when_offline(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    with pytest.raises(SystemExit) as exit_info:
        main(["sweep", str(SWEEP_EXPERIMENT), "--backend=wandb", f"--output_dir={tmp_path}", "--name=w"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert "--backend=wandb needs W&B online, but W&B is offline here" in err
    assert not (tmp_path / "w").exists()  # refused before anything was created


def test_wandb_agent_params_read_from_the_agents_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from wandb.sdk.lib import config_util

    path = tmp_path / "config-abc.yaml"
    config_util.save_config_file_from_dict(str(path), {"learning_rate": {"value": 0.003}, "model": {"value": "x"}})
    monkeypatch.setenv("WANDB_SWEEP_PARAM_PATH", str(path))
    assert agent_params(["learning_rate", "batch_size"]) == {"learning_rate": 0.003}


def test_the_old_score_name_and_the_config_ranges() -> None:
    sweep = {"method": "random", "metric": {"name": "val_weighted_f1"}, "parameters": {"epochs": {"min": 1, "max": 3}}}
    spec = parse(sweep)
    assert spec.metric == "val_score" and spec.goal == "maximize"  # val_weighted_f1 is val_score's old name
    for parameters, message in (
        ({"batch_size": {"values": [0, 16]}}, "sweep parameters.batch_size.values: --batch_size=0 is out of range"),
        ({"val_fraction": {"min": 0.1, "max": 1.5}}, "sweep parameters.val_fraction.max: --val_fraction=1.5 is out"),
    ):
        with pytest.raises(UserError, match=message):
            parse({**sweep, "parameters": parameters})
