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

import ast
import importlib.util
import json
import logging
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

logger = logging.getLogger("ignite_fire")

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

    @property
    def settings(self) -> config_module.RunConfig:
        """The config as typed, frozen groups (checked: every key is there, typed and in range)."""
        return config_module.RunConfig.from_dict(self.config)

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
    except SystemExit as error:  # sys.exit()/exit() at the top level: importing it must define, not run
        frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == str(path)]
        where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else str(path)
        raise UserError(
            f"experiment {where} calls sys.exit({error.code!r}) when imported: an experiment file defines `config` "
            "(and builders); put code that runs under `if __name__ == \"__main__\":`"
        ) from error
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


def literal_config(path: Path) -> dict[str, Any] | None:
    """The ``config`` of the experiment file at ``path``, read without running the file; None when it cannot be.

    It can when the file assigns ``config = {...}`` once, at the top level, as a literal (plain values only),
    and no other top-level statement names ``config`` (which could change it). The command line reads
    it for ``--help`` and checks it against the schema before importing the experiment, whose imports
    (torch, torchvision) take seconds; a file that builds its config in code is imported as before.
    """
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return None  # the import reports it, as before
    found: list[ast.expr] = []
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and [_name(t) for t in statement.targets] == ["config"]:
            found.append(statement.value)
        elif any(_names_config(node) for node in ast.walk(_runs_now(statement))):
            return None
    if len(found) != 1:
        return None
    try:
        value = ast.literal_eval(found[0])
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _name(node: ast.AST) -> str | None:
    return node.id if isinstance(node, ast.Name) else None


def _names_config(node: ast.AST) -> bool:
    """Whether ``node`` could read or change a module-level ``config`` (a star import could bind it too)."""
    if isinstance(node, ast.alias):
        return node.name == "*" or (node.asname or node.name) == "config"
    return _name(node) == "config" or (isinstance(node, ast.Global) and "config" in node.names)


def _runs_now(statement: ast.stmt) -> ast.AST:
    """What of a top-level statement can touch ``config``: a factory ``def f(config, ...)`` only runs later, on
    its own argument, so only its decorators and defaults count; any other statement counts whole."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
        arguments = statement.args
        if "config" in [a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]]:
            defaults = [*arguments.defaults, *(d for d in arguments.kw_defaults if d is not None)]
            return ast.Module(body=[ast.Expr(node) for node in [*statement.decorator_list, *defaults]], type_ignores=[])
    return statement


def check_before_import(path: Path, overrides: dict[str, Any]) -> dict[str, Any] | None:
    """The checked config of the experiment file at ``path`` when :func:`literal_config` reads it, else None.

    The schema's checks (types, choices, ranges, the rules between keys) raise here, before the
    experiment and torch are imported; what needs the code (the model's name, the data) is checked
    after loading.
    """
    literal = literal_config(path)
    if literal is None:
        return None
    config = config_module.apply_overrides(resolve_config(literal, str(path)), overrides)
    config_module.check_config(config)
    return config


def read_config(path: str | Path) -> tuple[str, dict[str, Any]]:
    """The name and resolved config of an experiment file or a run's config.json, for ``--help``.

    Without running the experiment where :func:`literal_config` reads it; by loading it otherwise.
    """
    path = Path(path)
    if path.suffix == ".py" and path.is_file():
        config = check_before_import(path, {})
        if config is not None:
            return path.stem, config
    if path.suffix == ".json" and path.is_file():
        experiment_path, recorded = _recorded_run(path)
        config = check_before_import(experiment_path, recorded) if experiment_path.suffix == ".py" else None
        if config is not None:
            return experiment_path.stem, config
    loaded = load_experiment(path)
    return loaded.name, loaded.config


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
        logger.info(f"{path} records the experiment {experiment_path}: running that file")  # the code it imports
        return load_experiment(experiment_path, {**recorded, **(overrides or {})})
    if path.suffix != ".py":
        raise UserError(f"experiment must be a .py file or a run's config.json, got {path}")
    check_before_import(path, overrides or {})  # a config error answers here, without importing torch
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
    from ignite_fire.models import check_model_name  # torch: imported once the experiment is loaded

    config_module.check_config(experiment.config)
    settings = experiment.settings
    build_model = experiment.factories.get("build_model")
    if build_model is None:
        check_model_name(settings.training.model, settings.data.image_size)
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
    experiment_file = str(experiment.path) if experiment.path else None
    config = {**experiment.config, "experiment": experiment_file, "overrides": experiment.overrides}
    return json.dumps(config, indent=2, ensure_ascii=False, default=str)
