"""The config schema: every key the framework reads, with its default, type, allowed values and meaning.

A config is a plain ``dict`` of plain values (str, int, float, bool, None, lists and dicts of
those), so it can be written to ``config.json``, given to W&B and stored in a checkpoint.
:data:`SCHEMA` declares each key once, as a :class:`Key`; :data:`DEFAULTS` is derived from it.
An experiment module's ``config`` dict replaces some of the defaults and may add keys of its own
(their type is taken from the experiment's value).

Checks, all raising :class:`~ignite_fire.errors.UserError` with one line naming the key:

* :func:`check_value`: one key's type, choices and range (every override, every sweep value);
* :func:`check_config`: every key, plus the rules between keys; before any data is read;
* :func:`check_data_keys`: the keys that name classes or metrics, once the classes are known.

:func:`describe_keys` is the text of ``python -m ignite_fire EXPERIMENT.py --help``.
"""

from __future__ import annotations

import copy
import difflib
import types as types_module
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from ignite_fire.choices import (
    AMP_MODES,
    EVAL_CROP,
    LOSSES,
    MAGNITUDE_RANGES,
    METRIC_ALIASES,
    OPTIMIZERS,
    PER_CLASS_METRICS,
    POLICIES,
    SCHEDULERS,
    metric_names,
    unknown_metric_error,
)
from ignite_fire.errors import UserError

NONE = type(None)
LOGGERS = ("wandb", "tensorboard", "csv")  # metric loggers (ignite_fire/loggers/)
NUMBER = (float, int)


@dataclass(frozen=True)
class Key:
    """One config key: its default, accepted types, and allowed values.

    ``choices`` lists every allowed value; ``ge``/``gt``/``le``/``lt`` bound numbers (each number
    of a list, and each value of a dict); None is always allowed when ``types`` includes NoneType.
    """

    default: Any
    types: tuple[type, ...]
    help: str
    choices: tuple[Any, ...] | None = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    def range_text(self) -> str:
        """The allowed range, e.g. ``>= 1`` or ``> 0 and < 1`` ('' when unbounded)."""
        bounds = ((">=", self.ge), (">", self.gt), ("<=", self.le), ("<", self.lt))
        return " and ".join(f"{sign} {_number(bound)}" for sign, bound in bounds if bound is not None)

    def in_range(self, number: float) -> bool:
        return (
            (self.ge is None or number >= self.ge)
            and (self.gt is None or number > self.gt)
            and (self.le is None or number <= self.le)
            and (self.lt is None or number < self.lt)
        )


def key(
    default: Any,
    help: str,
    *,
    choices: tuple[Any, ...] | None = None,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
) -> Any:
    """A config key as a dataclass field: its default, meaning and allowed values (the type is the annotation)."""
    spec = {"help": help, "choices": choices, "ge": ge, "gt": gt, "le": le, "lt": lt}
    if isinstance(default, (list, dict)):  # a fresh copy per instance, as dataclasses require
        return field(default_factory=lambda: copy.deepcopy(default), metadata={"key": spec})
    return field(default=default, metadata={"key": spec})


# The config groups. Each is a frozen dataclass whose fields are the keys: the annotation is the
# type a value may have (``float`` also takes an int), ``key()`` its default, meaning and range.
# The training layer receives these typed groups (RunConfig); SCHEMA, DEFAULTS and GROUPS below
# are derived from them, so a key is declared exactly once.


@dataclass(frozen=True)
class Training:
    """What to train"""

    model: str = key("resnet18", "torchvision model name (ignored by experiments with their own build_model)")
    pretrained: bool | str = key(True, "ImageNet weights (cached, True), none (False), or a .pth/.pt/.safetensors file")
    init_from: None | str = key(None, "start from this checkpoint's (or run/cv dir's) weights; fresh optimizer")
    drop_rate: None | float = key(None, "timm models: dropout before the head (None = the model's)", ge=0, lt=1)
    drop_path_rate: None | float = key(None, "timm models: stochastic depth (None = the model's)", ge=0, lt=1)
    layer_decay: None | float = key(None, "layer-wise LR decay, e.g. 0.75 (timm, ResNet, EffNet)", gt=0, le=1)
    head_lr_scale: float = key(1.0, "the classifier head's LR = learning_rate x head_lr_scale", gt=0)
    weight_decay_norm_bias: bool = key(False, "weight decay on norm weights and biases too (off, as in timm)")
    freeze_epochs: int = key(0, "train only the classifier head for this many epochs, then everything", ge=0)
    epochs: int = key(5, "training epochs", ge=1)
    batch_size: int = key(32, "images per batch (the global batch over all processes)", ge=1)
    learning_rate: float = key(0.005, "peak learning rate", gt=0)
    optimizer: str = key("Adam", "the optimizer", choices=OPTIMIZERS)
    weight_decay: float = key(0.0, "weight decay (L2 for Adam and SGD, decoupled for AdamW)", ge=0)
    momentum: float = key(0.9, "SGD momentum (SGD only)", ge=0, lt=1)
    loss_function: str = key("CrossEntropyLoss", "the loss", choices=LOSSES)
    focal_alpha: float | list[float] = key(
        0.25, "FocalLoss alpha: a number, or one number per class (in class order)", ge=0
    )
    focal_gamma: float = key(2.0, "FocalLoss focusing parameter (0 = cross-entropy)", ge=0)
    label_smoothing: float = key(0.0, "label smoothing of the targets", ge=0, lt=1)
    class_weights: None | str | list[float] = key(
        None, "cross-entropy class weights: None, 'auto' (inverse frequency) or one per class", ge=0
    )
    scheduler: None | str = key("CosineAnnealingLR", "learning-rate schedule (None = constant)", choices=SCHEDULERS)
    scheduler_interval: str = key(
        "iteration", "step the scheduler every iteration or every epoch", choices=("iteration", "epoch")
    )
    cosine_t_max: None | float = key(None, "epochs of one cosine half-period (None = epochs)", gt=0)
    step_size: int = key(3, "StepLR: epochs between decays", ge=1)
    step_gamma: float = key(0.1, "StepLR: factor of the learning rate every step_size epochs", gt=0)
    warmup_epochs: float = key(0.0, "linear warm-up before the schedule, in epochs (may be fractional)", ge=0)


@dataclass(frozen=True)
class Data:
    """Data"""

    data_dir: str = key("data", "the images: class folders, or a label file (train.txt/train.csv)")
    classes: None | list[str] = key(None, "None = discovered from the data; a list = these classes, in this order")
    image_size: int = key(224, "side of the square images the model sees, in pixels", ge=16)
    val_fraction: float = key(0.2, "fraction of each class held out when data_dir has no val/ split", gt=0, lt=1)
    num_workers: None | int = key(None, "DataLoader worker processes (None = min(8, CPU count))", ge=0)
    sampler: None | str = key(
        None, "training sampler: None (shuffle) or 'balanced' (classes equally often)", choices=(None, "balanced")
    )
    label_file: None | str = key(None, "None = data_dir/train.txt or train.csv if there; or a .txt/.csv path")
    folds: None | int = key(None, "k-fold cross-validation over all labelled images: the number of folds", ge=2)
    fold: int = key(0, "with folds: the fold validated on (0 .. folds-1)", ge=0)
    on_bad_image: str = key(
        "error", "an unreadable image: 'error' (name it and stop) or 'skip' it", choices=("error", "skip")
    )
    extra_train: None | str = key(None, "label file of images only ever added to training (pseudo-labels)")
    groups: None | str = key(None, "'file<TAB>group' file: folds keep a group on one side (StratifiedGroupKFold)")
    exclude: None | str = key(None, "file of image names (one a line) left out of the data, e.g. from audit")
    allow_small_classes: bool = key(
        False, "train although a class has < 2 training images or none in validation (data/checks.py)"
    )


@dataclass(frozen=True)
class Augmentation:
    """Augmentation"""

    color_jitter: float = key(0.0, "brightness/contrast/saturation jitter of training images (0 = off)", ge=0)
    augment: str = key("none", "augmentation policy of training images (torchvision v2)", choices=POLICIES)
    augment_magnitude: None | int = key(None, "randaugment 0-30 (default 9); augmix 1-10 (default 3)", ge=0)
    random_erasing: float = key(0.0, "probability of RandomErasing per training image (0 = off)", ge=0, le=1)
    mixup_alpha: float = key(0.0, "MixUp of training batches, Beta(alpha, alpha) (0 = off)", ge=0)
    cutmix_alpha: float = key(0.0, "CutMix of training batches (0 = off; with MixUp each batch gets one)", ge=0)


@dataclass(frozen=True)
class Update:
    """The update step"""

    amp: str | bool = key(
        "auto", "mixed precision: auto (bf16 on GPUs, fp32 on CPU), bf16, fp16 (CUDA) or False", choices=AMP_MODES
    )
    device: str = key("auto", "auto, cpu, cuda or cuda:N")
    channels_last: bool = key(True, "channels-last memory format (faster convolutions on GPUs)")
    grad_clip: None | float = key(None, "clip the gradient norm to this value (None = off)", gt=0)
    accumulation_steps: int = key(1, "batches whose gradients are summed before each optimizer step", ge=1)
    ema_decay: None | float = key(None, "validate and checkpoint an EMA of the weights, e.g. 0.999", gt=0, lt=1)
    seed: int = key(42, "random seed (data split, initialisation, augmentation)", ge=0, le=2**32 - 1)


@dataclass(frozen=True)
class Validation:
    """Validation and the best checkpoint"""

    checkpoint_metric: str = key(
        "val_acc", "metric of the best checkpoint, e.g. val_acc, val_macro_f1, val_score, val_f1/CLASS"
    )
    f1_weights: None | dict[str, float] = key(
        None, "{class: weight} for val_score (None = the Tianchi weights, others 1)", ge=0
    )
    n_saved: int = key(1, "best checkpoints kept", ge=1)
    patience: None | int = key(None, "stop after this many epochs without improvement (None = never)", ge=1)
    tta: None | str | list[str] = key(
        None, "test-time augmentation at validation: hflip, scales, five_crop (a,b: both)"
    )
    tta_scales: list[float] = key([0.875, 1.0, 1.125], "image scales of the 'scales' TTA mode", gt=0)


@dataclass(frozen=True)
class Speed:
    """Speed and scale"""

    compile: bool = key(False, "torch.compile the model (the compile time is logged)")
    cache: None | str = key(
        None, "None, or 'memory': decode every image once, augment per batch", choices=(None, "memory")
    )
    jpeg_draft: bool = key(True, f"decode large JPEGs at a reduced scale (>= image_size / {EVAL_CROP})")
    nproc_per_node: int = key(1, "processes (GPUs) on this machine; batch_size is their global batch", ge=1)
    threads: None | int = key(
        None, "torch intra-op threads (None = chosen from the free cores and the workers, then timed)", ge=1
    )


@dataclass(frozen=True)
class Bookkeeping:
    """Bookkeeping"""

    log_every: int = key(10, "iterations between train loss/accuracy/lr logs", ge=1)
    output_dir: str = key("runs", "folder of the run directories")
    name: None | str | int = key(None, "run name (None = experiment name + timestamp)")
    wandb_project: str = key("ignite_fire", "W&B project")
    wandb_group: None | str = key(None, "W&B group (a sweep puts its trials in one group)")
    wandb_job_type: None | str = key(None, "W&B job_type of the run ('fold' for the folds of a cv)")
    wandb_mode: None | str = key(
        None, "None = $WANDB_MODE, else offline", choices=(None, "offline", "online", "disabled")
    )
    resume: None | str = key(None, "None, 'auto' (this --name's last checkpoint) or a checkpoint path")
    stop_after_epoch: None | int = key(None, "stop cleanly after this epoch, as a pre-emption would", ge=1)
    stop_after_iteration: None | int = key(None, "stop cleanly after this iteration", ge=1)
    loggers: list[str] | str = key(["wandb", "csv"], f"where metrics go, any of {', '.join(LOGGERS)} (a list or a,b)")


@dataclass(frozen=True)
class Pictures:
    """Pictures"""

    plots: bool = key(True, "False turns off every picture (files and W&B media); watch is separate")
    graph: bool = key(True, "draw the torchviz model graph at the start")
    gallery_every: None | int = key(1, "epochs between prediction galleries (0 or None = none)", ge=0)
    gallery_size: int = key(16, "images per gallery: class examples and the most confident mistakes", ge=1)
    watch: None | str = key("gradients", "wandb.watch histograms", choices=(None, "gradients", "parameters", "all"))
    gradcam: bool = key(False, "draw the gallery's mistakes with Grad-CAM heat maps (needs the explain extra)")
    watch_every: int = key(100, "iterations between wandb.watch histograms", ge=1)


@dataclass(frozen=True)
class RunConfig:
    """A resolved config as typed, frozen groups: what the training layer and everything under it read.

    The experiment contract keeps the dict (an experiment's ``config``, its factories, config.json,
    W&B); :meth:`from_dict` types it once, after :func:`check_config` has checked every value.
    """

    training: Training
    data: Data
    augmentation: Augmentation
    update: Update
    validation: Validation
    speed: Speed
    bookkeeping: Bookkeeping
    pictures: Pictures

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> RunConfig:
        groups = typing.get_type_hints(cls)  # each field's type is its group's dataclass
        return cls(
            **{g.name: groups[g.name](**{f.name: config[f.name] for f in fields(groups[g.name])}) for g in fields(cls)}
        )


GROUP_CLASSES: tuple[type, ...] = tuple(typing.get_type_hints(RunConfig)[g.name] for g in fields(RunConfig))


def _types_of(hint: Any) -> tuple[type, ...]:
    """The runtime types an annotation accepts, in its order: ``None | float`` -> (NoneType, float, int)."""
    types: list[type] = []
    for part in typing.get_args(hint) if isinstance(hint, types_module.UnionType) else (hint,):
        part = typing.get_origin(part) or part  # list[float] -> list
        types += NUMBER if part is float else (part,)
    return tuple(types)


def _schema_of(group: type) -> dict[str, Key]:
    hints = typing.get_type_hints(group)
    keys = {}
    for f in fields(group):
        default = f.default_factory() if callable(f.default_factory) else f.default
        keys[f.name] = Key(default, _types_of(hints[f.name]), **f.metadata["key"])
    return keys


GROUPS: dict[str, dict[str, Key]] = {(g.__doc__ or g.__name__).strip(): _schema_of(g) for g in GROUP_CLASSES}
SCHEMA: dict[str, Key] = {name: key for keys in GROUPS.values() for name, key in keys.items()}
DEFAULTS: dict[str, Any] = {name: key.default for name, key in SCHEMA.items()}


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _type_names(types: tuple[type, ...]) -> str:
    return " or ".join("None" if t is NONE else t.__name__ for t in types)


def expected_types(key: str, default: Any) -> tuple[type, ...] | None:
    """The types a value of ``key`` may have (from the schema, else from ``default``); None means any."""
    if key in SCHEMA:
        return SCHEMA[key].types
    if default is None:
        return None
    if isinstance(default, bool):
        return (bool,)
    if isinstance(default, float):
        return NUMBER
    if isinstance(default, (list, tuple)):
        return (list, tuple)
    return (type(default),)


def _is_number(value: Any) -> bool:
    return isinstance(value, NUMBER) and not isinstance(value, bool)


def _check_range(key: str, value: Any, spec: Key) -> None:
    """Every number in ``value`` (itself, a list's items, a dict's values) within ``spec``'s range."""
    if value is None or not spec.range_text():
        return
    numbers = list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else [value]
    if isinstance(value, (list, dict)) and not all(_is_number(n) for n in numbers):
        what = "a dict of numbers" if isinstance(value, dict) else "a list of numbers"
        raise UserError(f"--{key}={value!r} has the wrong type: expected {what}")
    if not all(spec.in_range(n) for n in numbers if _is_number(n)):
        every = "every value " if isinstance(value, (list, dict)) else ""
        raise UserError(f"--{key}={value!r} is out of range: {every}must be {spec.range_text()}")


def check_value(key: str, value: Any, default: Any = None) -> Any:
    """``value`` for ``key`` if its type, choice and range are allowed, else a UserError.

    ``default`` gives the type of keys that are not in the schema (an experiment's own keys).
    Tuples become lists; a metric alias (``val_weighted_f1``) becomes its name (``val_score``).
    """
    if isinstance(value, tuple):
        value = list(value)
    types = expected_types(key, default)
    # bool is an int subclass: never accept True/False where a number is expected.
    is_bool_mismatch = isinstance(value, bool) and bool not in (types or ())
    if types is not None and (is_bool_mismatch or not isinstance(value, types)):
        raise UserError(
            f"--{key}={value!r} has the wrong type: expected {_type_names(types)}, got {type(value).__name__}"
        )
    spec = SCHEMA.get(key)
    if spec is None:
        return value
    if spec.choices is not None and value not in spec.choices:
        choices = ", ".join(repr(c) for c in spec.choices)
        raise UserError(f"--{key}={value!r} is not allowed: choose one of {choices}")
    _check_range(key, value, spec)
    if key == "checkpoint_metric":
        return METRIC_ALIASES.get(value, value)
    return value


def logger_names(loggers: list[str] | str) -> list[Any]:
    """The ``loggers`` key as a list of names (one name, a list, or comma-separated names: ``wandb,csv``)."""
    names: list[Any] = loggers.split(",") if isinstance(loggers, str) else loggers
    return [n.strip() if isinstance(n, str) else n for n in names]  # a non-name is refused by _check_rules


def _check_rules(config: RunConfig) -> None:
    """The rules between keys, and the shapes a type alone does not say."""
    loggers = config.bookkeeping.loggers
    unknown = [n for n in logger_names(loggers) if n not in LOGGERS]
    if unknown:
        raise UserError(f"--loggers={loggers!r} is not allowed: {unknown[0]!r} is not one of {', '.join(LOGGERS)}")
    data, training = config.data, config.training
    if data.folds is not None and data.fold >= data.folds:
        folds, fold = data.folds, data.fold
        raise UserError(f"--fold={fold} is out of range: with --folds={folds} it must be 0 .. {folds - 1}")
    weights = training.class_weights
    if isinstance(weights, str) and weights != "auto":
        raise UserError(f"--class_weights={weights!r} is not allowed: use 'auto', None, or one number per class")
    classes = data.classes
    if classes is not None:
        if not all(isinstance(c, str) and c for c in classes):
            raise UserError(f"--classes={classes!r} has the wrong type: expected a list of class names (strings)")
        if len(set(classes)) != len(classes) or len(classes) < 2:
            raise UserError(f"--classes={classes!r} is not allowed: name two or more different classes")
    f1_weights = config.validation.f1_weights
    if f1_weights is not None and not all(isinstance(name, str) for name in f1_weights):
        raise UserError(f"--f1_weights={f1_weights!r} has the wrong type: expected {{class name: weight}}")
    metric = config.validation.checkpoint_metric
    if not _metric_form_ok(metric):
        raise unknown_metric_error("--checkpoint_metric", metric)
    _check_magnitude(config.augmentation.augment, config.augmentation.augment_magnitude)


def _check_magnitude(policy: str, magnitude: int | None) -> None:
    """``augment_magnitude`` only for a policy that has one (RandAugment, AugMix), within its range."""
    if magnitude is None:
        return
    if policy not in MAGNITUDE_RANGES:
        raise UserError(f"--augment_magnitude applies to {' and '.join(MAGNITUDE_RANGES)}, not to {policy}: unset it")
    low, high = MAGNITUDE_RANGES[policy]
    if not low <= magnitude <= high:
        raise UserError(f"--augment_magnitude={magnitude} is out of range: for {policy} it must be {low} .. {high}")


def _metric_form_ok(metric: str) -> bool:
    """Whether ``metric`` can name a validation metric of some data (the class is checked later)."""
    kind, slash, name = metric.partition("/")
    if slash:
        return kind in (f"val_{k}" for k in PER_CLASS_METRICS) and bool(name)
    return metric in metric_names([]) or metric in METRIC_ALIASES


def check_config(config: Mapping[str, Any]) -> None:
    """Check every schema key of ``config`` (type, choices, range) and the rules between keys.

    Call before any data is read; raises a one-line UserError naming the key and what is allowed.
    """
    for key, spec in SCHEMA.items():
        check_value(key, config[key], spec.default)
    _check_rules(RunConfig.from_dict(config))


def check_data_keys(config: RunConfig, classes: Sequence[str], metrics: Sequence[str] | None = None) -> None:
    """Check the keys that name classes or metrics, once the data's ``classes`` are known.

    ``metrics``: the validation metrics the run computes (default: the framework's for ``classes``).
    """
    metric = config.validation.checkpoint_metric
    metric = METRIC_ALIASES.get(metric, metric)
    if metric not in (metric_names(classes) if metrics is None else metrics):
        raise unknown_metric_error("--checkpoint_metric", metric, classes, metrics)
    unknown = sorted(set(config.validation.f1_weights or {}) - set(classes))
    if unknown:
        raise UserError(
            f"--f1_weights names {', '.join(map(repr, unknown))}, not a class of this data: "
            f"the classes are {', '.join(classes)}"
        )
    for key, value in (("focal_alpha", config.training.focal_alpha), ("class_weights", config.training.class_weights)):
        if isinstance(value, list) and len(value) != len(classes):
            raise UserError(
                f"--{key} has {len(value)} values but there are {len(classes)} classes ({', '.join(classes)})"
            )


def closest_key(key: str, keys: list[str]) -> str | None:
    matches = difflib.get_close_matches(key, keys, n=1, cutoff=0.5)
    return matches[0] if matches else None


def apply_overrides(config: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``config`` with ``overrides`` applied; unknown keys, wrong types and ranges are UserErrors."""
    result = dict(config)
    for key, value in overrides.items():
        if key not in config:
            hint = closest_key(key, sorted(config))
            suggestion = f"; did you mean --{hint}?" if hint else "; see the experiment's config for valid keys"
            raise UserError(f"unknown config key --{key}{suggestion}")
        result[key] = check_value(key, value, config[key])
    return result


def allowed_text(key: str, value: Any = None) -> str:
    """What ``key`` accepts, e.g. ``int >= 1``, ``Adam|AdamW|SGD`` or ``number > 0, or None``."""
    spec = SCHEMA.get(key)
    if spec is None:
        types = expected_types(key, value)
        return _type_names(types) if types else "any"
    if spec.choices is not None:
        return "|".join(str(c) for c in spec.choices)
    names = ["number" if t is float else t.__name__ for t in spec.types if t is not NONE]
    if float in spec.types and int in spec.types:
        names.remove("int")
    text = " or ".join(names)
    if spec.range_text():
        several = len(names) > 1 or names[0] in ("list", "dict")
        text += f", each {spec.range_text()}" if several else f" {spec.range_text()}"
    return text + (", or None" if NONE in spec.types else "")


def describe_keys(config: Mapping[str, Any], title: str = "config keys") -> str:
    """Every key of ``config``: ``--key=value  allowed  meaning``, grouped as the schema, then the
    experiment's own keys. The text of ``python -m ignite_fire EXPERIMENT.py --help``."""
    lines = [f"{title} (override any with --key=value):"]
    for group, keys in GROUPS.items():
        lines += ["", f"{group}:"]
        for name, spec in keys.items():
            value = config[name]
            note = "" if value == spec.default else f" [default: {_shown(spec.default)}]"
            lines.append(_key_line(name, value, allowed_text(name), spec.help + note))
    extra = [name for name in config if name not in SCHEMA]
    if extra:
        lines += ["", "This experiment's own keys (not in the framework's schema):"]
        lines += [_key_line(name, config[name], allowed_text(name, config[name]), "") for name in extra]
    return "\n".join(lines) + "\n"


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


def _key_line(name: str, value: Any, allowed: str, meaning: str) -> str:
    return f"  {f'--{name}={_shown(value)}':<32} {allowed:<26} {meaning}".rstrip()
