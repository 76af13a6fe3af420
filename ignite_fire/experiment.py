"""Loading an experiment module and resolving its configuration.

The experiment contract (see docs/experiments.md): an experiment is a ``.py`` file that defines

* ``config``: a dict of plain values; it replaces keys of :data:`ignite_fire.config.DEFAULTS`
  and may add keys of its own (every key can be overridden on the command line);
* optionally any of the factories below, each replacing the default of the same name:

  ============================================  ============================================
  ``build_model(config, num_classes)``          :func:`ignite_fire.models.build_model`
  ``build_loss(config, class_counts)``          :func:`ignite_fire.losses.build_loss`
  ``build_optimizer(config, model)``            :func:`ignite_fire.optim.build_optimizer`
  ``build_scheduler(config, optimizer, steps)`` :func:`ignite_fire.optim.build_scheduler`
  ``build_transforms(config)``                  :func:`ignite_fire.data.transforms.build_transforms`
  ``build_datasets(config, transforms)``        :func:`ignite_fire.data.datasets.build_datasets`
  ============================================  ============================================

* optionally ``sweep``: a W&B-style sweep config (see :mod:`ignite_fire.sweeps`).

A run's ``config.json`` records its experiment file (``experiment``) and its command-line
``overrides``; :func:`load_experiment` accepts it in place of the ``.py`` file, to re-run the run.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

from ignite_fire import config as config_module
from ignite_fire.errors import UserError
from ignite_fire.models import check_model_name

FACTORY_NAMES = (
    "build_model",
    "build_loss",
    "build_optimizer",
    "build_scheduler",
    "build_transforms",
    "build_datasets",
)


@dataclass
class Experiment:
    """A loaded experiment: its name, resolved config, and the factories it overrides."""

    name: str
    path: Path | None
    config: dict[str, Any]
    factories: dict[str, Callable[..., Any]] = field(default_factory=dict)
    sweep: dict[str, Any] | None = None
    overrides: dict[str, Any] = field(default_factory=dict)  # the command line's, recorded in config.json

    def factory(self, name: str, default: Callable[..., Any]) -> Callable[..., Any]:
        """The experiment's own ``name`` factory if it defines one, else ``default``."""
        return self.factories.get(name, default)


def _import_file(path: Path) -> ModuleType:
    module_name = f"ignite_fire_experiment_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise UserError(f"cannot load experiment {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        raise UserError(f"syntax error in experiment {error.filename}:{error.lineno}: {error.msg}") from error
    except UserError:
        raise
    except Exception as error:  # an import error or any bug at the experiment's top level
        frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == str(path)]
        where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else str(path)
        raise UserError(f"error in experiment {where}: {type(error).__name__}: {error}") from error
    return module


def resolve_config(experiment_config: dict[str, Any], source: str) -> dict[str, Any]:
    """DEFAULTS updated with an experiment's config; known keys are type-checked."""
    if not isinstance(experiment_config, dict):
        raise UserError(f"{source}: `config` must be a dict, got {type(experiment_config).__name__}")
    resolved = dict(config_module.DEFAULTS)
    for key, value in experiment_config.items():
        if key in config_module.DEFAULTS:
            value = config_module.check_value(key, value, config_module.DEFAULTS[key])
        resolved[key] = value
    return resolved


RUN_KEYS = ("name", "resume")  # name a run rather than set it up: a re-run from config.json leaves them out


def _recorded_run(path: Path) -> tuple[Path, dict[str, Any]]:
    """The experiment file and the overrides a run's ``config.json`` records."""
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserError(f"cannot read {path}: {error}") from error
    if not isinstance(recorded, dict) or "experiment" not in recorded:
        raise UserError(f"{path} is not a run's config.json (no 'experiment' entry): pass a .py experiment file")
    if not recorded["experiment"]:
        raise UserError(f"{path} records no experiment file (the run was built in Python): re-run its script")
    experiment = Path(str(recorded["experiment"]))
    if not experiment.is_file():
        raise UserError(
            f"the experiment file {experiment} recorded in {path} is missing (moved or deleted?): put it back there"
        )
    overrides = recorded.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise UserError(f"{path}: 'overrides' must be a dict of config keys, got {type(overrides).__name__}")
    return experiment, {k: v for k, v in overrides.items() if k not in RUN_KEYS}


def load_experiment(path: str | Path, overrides: dict[str, Any] | None = None) -> Experiment:
    """Import the experiment file at ``path`` and apply command-line ``overrides``.

    ``path`` may be a run's ``config.json``: its experiment file is loaded with the overrides it
    records (but ``name`` and ``resume``), then ``overrides``.
    """
    path = Path(path)
    if not path.is_file():
        hint = " (experiments live in experiments/, e.g. experiments/quickstart.py)"
        raise UserError(f"experiment file not found: {path}{hint}")
    if path.suffix == ".json":
        experiment_path, recorded = _recorded_run(path)
        return load_experiment(experiment_path, {**recorded, **(overrides or {})})
    if path.suffix != ".py":
        raise UserError(f"experiment must be a .py file or a run's config.json, got {path}")
    module = _import_file(path.resolve())
    config = resolve_config(getattr(module, "config", {}), str(path))
    config = config_module.apply_overrides(config, overrides or {})
    factories = {name: getattr(module, name) for name in FACTORY_NAMES if callable(getattr(module, name, None))}
    sweep = getattr(module, "sweep", None)
    experiment = Experiment(
        name=path.stem,
        path=path.resolve(),
        config=config,
        factories=factories,
        sweep=sweep,
        overrides=dict(overrides or {}),
    )
    check_experiment(experiment, overrides or {})
    return experiment


def _reads_key(function: Callable[..., Any], key: str) -> bool:
    """Whether ``function``'s code names ``key`` (as in ``config["model"]``), nested functions included."""
    code = getattr(function, "__code__", None)
    if code is None:
        return True  # not a plain function: assume it does
    pending = [code]
    while pending:
        code = pending.pop()
        if key in code.co_consts:
            return True
        pending += [c for c in code.co_consts if isinstance(c, CodeType)]
    return False


def check_experiment(experiment: Experiment, overrides: dict[str, Any]) -> None:
    """Everything that can be checked before any data is read: the config schema and its rules, the
    default model's name and image size; a warning for an override the experiment makes meaningless."""
    config = experiment.config
    config_module.check_config(config)
    build_model = experiment.factories.get("build_model")
    if build_model is None:
        check_model_name(config["model"], config["image_size"])
        return
    for key in ("model", "pretrained"):
        if key in overrides and not _reads_key(build_model, key):
            where = experiment.path or experiment.name
            warnings.warn(f"--{key} has no effect: {where} builds its own model (build_model)", stacklevel=2)


def experiment_from_config(
    name: str, config: dict[str, Any] | None = None, **factories: Callable[..., Any]
) -> Experiment:
    """Build an :class:`Experiment` in Python, without a file (for custom scripts and tests)."""
    unknown = sorted(set(factories) - set(FACTORY_NAMES))
    if unknown:
        raise UserError(f"unknown factory {unknown[0]}: expected one of {', '.join(FACTORY_NAMES)}")
    experiment = Experiment(name=name, path=None, config=resolve_config(config or {}, name), factories=factories)
    check_experiment(experiment, {})
    return experiment


def resolved_json(experiment: Experiment) -> str:
    """The config ``experiment`` would train with, as config.json records it (``--print_config``)."""
    config = {**experiment.config, "experiment": str(experiment.path) if experiment.path else None}
    config["overrides"] = experiment.overrides
    return json.dumps(config, indent=2, ensure_ascii=False, default=str)
