"""An experiment's ``sweep`` dict (W&B sweep-config format), checked and turned into Optuna objects.

The format is W&B's, so the same dict also works with ``wandb.sweep``::

    sweep = {
        "method": "bayes",  # bayes (Optuna's TPE), random or grid
        "metric": {"name": "val_acc", "goal": "maximize"},
        "parameters": {
            "learning_rate": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-2},
            "batch_size": {"values": [16, 32, 64]},
            "model": {"values": ["resnet18", "efficientnet_b0", "efficientnet_b4"]},
            "epochs": {"value": 5},  # fixed for every trial
        },
        "early_terminate": {"type": "hyperband", "min_iter": 1, "eta": 3},
    }

Parameters: ``value`` (fixed), ``values`` (categorical), ``min``/``max`` (integers when both bounds
are ints, else uniform floats), or an explicit ``distribution``: one of :data:`DISTRIBUTIONS`.
Every parameter must be a config key of the experiment, and its values must fit that key's type.

``early_terminate`` hyperband is W&B's rule: at epochs ``min_iter * eta**k`` a trial is stopped
unless its metric is in the best ``1/eta`` of the values every trial had at that epoch. That is
asynchronous successive halving, which is Optuna's :class:`~optuna.pruners.SuccessiveHalvingPruner`
(Optuna's ``HyperbandPruner`` runs several such brackets and only prunes in some of them).
"""

from __future__ import annotations

import difflib
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
)

from ignite_fire.choices import METRIC_ALIASES, unknown_metric_error
from ignite_fire.config import _metric_form_ok, check_value  # the --checkpoint_metric check
from ignite_fire.errors import UserError
from ignite_fire.handlers.checkpoints import score_sign

METHODS = ("bayes", "random", "grid")
# W&B keys that only its server reads (program, command, ...) are accepted and ignored here.
SWEEP_KEYS = (
    "method",
    "metric",
    "parameters",
    "early_terminate",
    "run_cap",
    "name",
    "description",
    "program",
    "command",
    "project",
    "entity",
)
METRIC_KEYS = ("name", "goal", "target")
PARAMETER_KEYS = ("value", "values", "min", "max", "distribution", "q")
HYPERBAND_KEYS = ("type", "min_iter", "max_iter", "s", "eta", "strict")
DISTRIBUTIONS = (
    "constant",
    "categorical",
    "int_uniform",
    "uniform",
    "q_uniform",
    "log_uniform_values",
    "log_uniform",
)
# The sweep sets these for every trial: they cannot be searched.
RESERVED_KEYS = ("name", "output_dir", "resume", "wandb_group", "checkpoint_metric")
# Trials before TPE starts modelling (random until then); W&B's seed runs count=10.
TPE_STARTUP_TRIALS = 5


@dataclass(frozen=True)
class Hyperband:
    """W&B's ``early_terminate: {type: hyperband}``: checks at epochs ``min_iter * eta**k``."""

    min_iter: int
    eta: int


@dataclass
class SweepSpec:
    """A checked sweep: the Optuna search space plus what every trial gets fixed."""

    method: str
    metric: str
    goal: str  # "maximize" or "minimize"
    parameters: dict[str, BaseDistribution]
    fixed: dict[str, Any] = field(default_factory=dict)  # `value` parameters and --key=value
    hyperband: Hyperband | None = None
    target: float | None = None
    run_cap: int | None = None

    def describe(self) -> dict[str, Any]:
        """What must stay the same for trials to belong to one study (stored with the study)."""
        return {
            "method": self.method,
            "metric": self.metric,
            "goal": self.goal,
            "parameters": {name: distribution_to_json(d) for name, d in sorted(self.parameters.items())},
        }


def _error(source: str, key: str, message: str) -> UserError:
    return UserError(f"{source}: sweep {key}: {message}")


def _check_keys(source: str, where: str, given: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in given:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"expected one of {', '.join(allowed)}"
            raise _error(source, f"{where}{key}", f"unknown key; {hint}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fits(source: str, where: str, name: str, value: Any, config: dict[str, Any]) -> Any:
    """``value`` checked against config key ``name``'s type and choices."""
    try:
        return check_value(name, value, config[name])
    except UserError as error:
        raise _error(source, where, str(error)) from None


def _parse_metric(source: str, metric: Any, default_metric: str) -> tuple[str, str, float | None]:
    if metric is None:
        metric = {"name": default_metric}
    if not isinstance(metric, dict):
        raise _error(source, "metric", "must be a dict like {'name': 'val_acc', 'goal': 'maximize'}")
    _check_keys(source, "metric.", metric, METRIC_KEYS)
    name = metric.get("name")
    name = METRIC_ALIASES.get(name, name) if isinstance(name, str) else name  # val_weighted_f1 -> val_score
    if not isinstance(name, str) or not _metric_form_ok(name):  # the check of --checkpoint_metric: not per trial
        raise _error(source, "metric.name", str(unknown_metric_error(None, name)))
    natural = "minimize" if score_sign(name) < 0 else "maximize"
    goal = metric.get("goal", natural)
    if goal not in ("maximize", "minimize"):
        raise _error(source, "metric.goal", f"{goal!r} is not a goal: use maximize or minimize")
    if goal != natural:
        raise _error(source, "metric.goal", f"{name} is a metric to {natural}, not to {goal}")
    target = metric.get("target")
    if target is not None and not _is_number(target):
        raise _error(source, "metric.target", f"{target!r} must be a number")
    return name, goal, None if target is None else float(target)


def _infer_distribution(spec: dict[str, Any]) -> str:
    if "value" in spec:
        return "constant"
    if "values" in spec:
        return "categorical"
    if _is_int(spec.get("min")) and _is_int(spec.get("max")):
        return "int_uniform"
    return "uniform"


def _bounds(source: str, where: str, spec: dict[str, Any], kind: str) -> tuple[Any, Any]:
    low, high = spec.get("min"), spec.get("max")
    if low is None or high is None:
        raise _error(source, where, f"{kind} needs both min and max")
    check = _is_int if kind == "int_uniform" else _is_number
    for key, bound in (("min", low), ("max", high)):
        if not check(bound):
            expected = "an int" if kind == "int_uniform" else "a number"
            raise _error(source, f"{where}.{key}", f"{bound!r} must be {expected}")
    if not low < high:
        raise _error(source, f"{where}.min", f"min ({low}) must be smaller than max ({high})")
    return low, high


def _parse_parameter(source: str, name: str, spec: Any, config: dict[str, Any]) -> tuple[BaseDistribution | None, Any]:
    """(distribution, None) for a searched parameter, (None, value) for a fixed one."""
    where = f"parameters.{name}"
    if not isinstance(spec, dict):
        raise _error(source, where, "must be a dict such as {'values': [...]} or {'min': ..., 'max': ...}")
    if "parameters" in spec:
        raise _error(source, f"{where}.parameters", "nested parameters are not supported: use one key per value")
    _check_keys(source, f"{where}.", spec, PARAMETER_KEYS)
    kind = spec.get("distribution", _infer_distribution(spec))
    if kind not in DISTRIBUTIONS:
        raise _error(
            source, f"{where}.distribution", f"{kind!r} is not supported: use one of {', '.join(DISTRIBUTIONS)}"
        )
    if kind == "constant":
        if "value" not in spec:
            raise _error(source, where, "constant needs a value")
        return None, _fits(source, f"{where}.value", name, spec["value"], config)
    if kind == "categorical":
        values = spec.get("values")
        if not isinstance(values, (list, tuple)) or not values:
            raise _error(source, f"{where}.values", "must be a non-empty list")
        for value in values:
            if value is not None and not isinstance(value, (str, int, float, bool)):
                raise _error(source, f"{where}.values", f"{value!r}: each value must be a str, number, bool or None")
            _fits(source, f"{where}.values", name, value, config)
        if len(set(map(repr, values))) != len(values):
            raise _error(source, f"{where}.values", "has duplicates")
        return CategoricalDistribution(list(values)), None
    low, high = _bounds(source, where, spec, kind)
    if kind == "int_uniform":
        _fits(source, f"{where}.min", name, low, config)
        _fits(source, f"{where}.max", name, high, config)
        return IntDistribution(low, high), None
    if kind in ("log_uniform_values", "log_uniform"):
        if kind == "log_uniform":  # W&B: min and max are natural logarithms of the bounds
            low, high = math.exp(low), math.exp(high)
        elif low <= 0:
            raise _error(source, f"{where}.min", f"{low} must be > 0 for log_uniform_values")
    _fits(source, f"{where}.min", name, float(low), config)
    _fits(source, f"{where}.max", name, float(high), config)
    step = None
    if kind == "q_uniform":
        step = spec.get("q", 1.0)
        if not _is_number(step) or step <= 0:
            raise _error(source, f"{where}.q", f"{step!r} must be a positive number")
        step = float(step)
    return FloatDistribution(float(low), float(high), log=kind.startswith("log"), step=step), None


def _parse_hyperband(source: str, early: Any) -> Hyperband | None:
    if early is None:
        return None
    if not isinstance(early, dict):
        raise _error(source, "early_terminate", "must be a dict like {'type': 'hyperband', 'min_iter': 1}")
    _check_keys(source, "early_terminate.", early, HYPERBAND_KEYS)
    if early.get("type") != "hyperband":
        raise _error(source, "early_terminate.type", f"{early.get('type')!r} is not supported: use 'hyperband'")
    eta = early.get("eta", 3)
    if not _is_int(eta) or eta < 2:
        raise _error(source, "early_terminate.eta", f"{eta!r} must be an int >= 2")
    for key in ("min_iter", "max_iter", "s"):
        value = early.get(key)
        if value is not None and (not _is_int(value) or value < 1):
            raise _error(source, f"early_terminate.{key}", f"{value!r} must be an int >= 1")
    if "min_iter" in early:
        return Hyperband(early["min_iter"], eta)
    if "max_iter" not in early or "s" not in early:
        raise _error(source, "early_terminate", "hyperband needs min_iter, or max_iter and s")
    # W&B's brackets for max_iter and s: max_iter / eta, max_iter / eta**2, ... (s of them, all >= 1).
    brackets = [int(early["max_iter"] / eta**k) for k in range(1, early["s"] + 1) if early["max_iter"] / eta**k >= 1]
    if not brackets:
        raise _error(source, "early_terminate.max_iter", f"max_iter {early['max_iter']} < eta {eta}: no bracket")
    return Hyperband(min(brackets), eta)


def parse_sweep(sweep: Any, config: dict[str, Any], fixed: dict[str, Any], source: str) -> SweepSpec:
    """Check ``sweep`` against the experiment's resolved ``config``; ``fixed`` (from the command
    line) takes its keys out of the search space. Every mistake is a UserError naming the key."""
    if sweep is None:
        raise UserError(
            f"{source} defines no `sweep` dict: add one in W&B sweep-config format (see experiments/sweep_bayes.py)"
        )
    if not isinstance(sweep, dict):
        raise UserError(f"{source}: `sweep` must be a dict, got {type(sweep).__name__}")
    _check_keys(source, "", sweep, SWEEP_KEYS)
    method = sweep.get("method")
    if method not in METHODS:
        raise _error(source, "method", f"{method!r} is not a method: use bayes, random or grid")
    metric, goal, target = _parse_metric(source, sweep.get("metric"), config["checkpoint_metric"])
    parameters_spec = sweep.get("parameters")
    if not isinstance(parameters_spec, dict) or not parameters_spec:
        raise _error(source, "parameters", "must be a non-empty dict of {config key: {...}}")
    parameters: dict[str, BaseDistribution] = {}
    spec_fixed: dict[str, Any] = {}
    for name, spec in parameters_spec.items():
        if name not in config:
            close = difflib.get_close_matches(str(name), sorted(config), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise _error(source, f"parameters.{name}", f"not a config key of this experiment{hint}")
        if name in RESERVED_KEYS:
            raise _error(source, f"parameters.{name}", "is set by the sweep for every trial and cannot be searched")
        distribution, value = _parse_parameter(source, name, spec, config)
        if name in fixed:
            continue  # --name=value on the command line wins
        if distribution is None:
            spec_fixed[name] = value
        else:
            parameters[name] = distribution
    if method == "grid":
        for name, distribution in parameters.items():
            if not isinstance(distribution, (CategoricalDistribution, IntDistribution)):
                raise _error(source, f"parameters.{name}", "grid needs `values` (or int min/max) for every parameter")
    run_cap = sweep.get("run_cap")
    if run_cap is not None and (not _is_int(run_cap) or run_cap < 1):
        raise _error(source, "run_cap", f"{run_cap!r} must be an int >= 1")
    return SweepSpec(
        method=method,
        metric=metric,
        goal=goal,
        parameters=parameters,
        fixed={**spec_fixed, **fixed},
        hyperband=_parse_hyperband(source, sweep.get("early_terminate")),
        target=target,
        run_cap=run_cap,
    )


def grid_values(distribution: BaseDistribution) -> list[Any]:
    if isinstance(distribution, CategoricalDistribution):
        return list(distribution.choices)
    assert isinstance(distribution, IntDistribution)
    return list(range(distribution.low, distribution.high + 1, distribution.step))


def build_sampler(spec: SweepSpec, seed: int) -> optuna.samplers.BaseSampler:
    """bayes: TPE (random for the first trials); random: random; grid: every combination once.

    Samplers other than grid are unseeded, so workers sharing a study never propose the same points.
    """
    if spec.method == "grid":
        return optuna.samplers.GridSampler({n: grid_values(d) for n, d in spec.parameters.items()}, seed=seed)
    if spec.method == "random":
        return optuna.samplers.RandomSampler()
    with warnings.catch_warnings():  # constant_liar is experimental in Optuna 4
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # constant_liar: trials running on other workers count as bad guesses, so TPE looks elsewhere.
        return optuna.samplers.TPESampler(n_startup_trials=TPE_STARTUP_TRIALS, constant_liar=True)


def build_pruner(spec: SweepSpec) -> optuna.pruners.BasePruner:
    if spec.hyperband is None:
        return optuna.pruners.NopPruner()
    return optuna.pruners.SuccessiveHalvingPruner(
        min_resource=spec.hyperband.min_iter, reduction_factor=spec.hyperband.eta, min_early_stopping_rate=0
    )


def suggest(trial: optuna.Trial, name: str, distribution: BaseDistribution) -> Any:
    """The trial's value of parameter ``name``."""
    if isinstance(distribution, CategoricalDistribution):
        return trial.suggest_categorical(name, distribution.choices)
    if isinstance(distribution, IntDistribution):
        return trial.suggest_int(name, distribution.low, distribution.high, step=distribution.step)
    assert isinstance(distribution, FloatDistribution)
    return trial.suggest_float(name, distribution.low, distribution.high, step=distribution.step, log=distribution.log)
