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

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ignite_fire.data.augment import MAGNITUDE_RANGES, POLICIES
from ignite_fire.engines import AMP_MODES
from ignite_fire.errors import UserError
from ignite_fire.losses import LOSSES
from ignite_fire.metrics import METRIC_ALIASES, PER_CLASS_METRICS, metric_names
from ignite_fire.optim import OPTIMIZERS, SCHEDULERS

NONE = type(None)
LOGGERS = ("wandb", "tensorboard", "csv")  # metric loggers (ignite_fire/loggers.py)
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


TRAINING: dict[str, Key] = {
    "model": Key("resnet18", (str,), "torchvision model name (ignored by experiments with their own build_model)"),
    "pretrained": Key(
        True, (bool, str), "ImageNet weights (cached, True), none (False), or a .pth/.pt/.safetensors file"
    ),
    "drop_rate": Key(None, (NONE, *NUMBER), "timm models: dropout before the head (None = the model's)", ge=0, lt=1),
    "drop_path_rate": Key(None, (NONE, *NUMBER), "timm models: stochastic depth (None = the model's)", ge=0, lt=1),
    "layer_decay": Key(None, (NONE, *NUMBER), "layer-wise LR decay, e.g. 0.75 (timm, ResNet, EffNet)", gt=0, le=1),
    "head_lr_scale": Key(1.0, NUMBER, "the classifier head's LR = learning_rate x head_lr_scale", gt=0),
    "weight_decay_norm_bias": Key(False, (bool,), "weight decay on norm weights and biases too (off, as in timm)"),
    "freeze_epochs": Key(0, (int,), "train only the classifier head for this many epochs, then everything", ge=0),
    "epochs": Key(5, (int,), "training epochs", ge=1),
    "batch_size": Key(32, (int,), "images per batch (the global batch over all processes)", ge=1),
    "learning_rate": Key(0.005, NUMBER, "peak learning rate", gt=0),
    "optimizer": Key("Adam", (str,), "the optimizer", choices=OPTIMIZERS),
    "weight_decay": Key(0.0, NUMBER, "weight decay (L2 for Adam and SGD, decoupled for AdamW)", ge=0),
    "momentum": Key(0.9, NUMBER, "SGD momentum (SGD only)", ge=0, lt=1),
    "loss_function": Key("CrossEntropyLoss", (str,), "the loss", choices=LOSSES),
    "focal_alpha": Key(
        0.25, (*NUMBER, list), "FocalLoss alpha: a number, or one number per class (in class order)", ge=0
    ),
    "focal_gamma": Key(2.0, NUMBER, "FocalLoss focusing parameter (0 = cross-entropy)", ge=0),
    "label_smoothing": Key(0.0, NUMBER, "label smoothing of the targets", ge=0, lt=1),
    "class_weights": Key(
        None, (NONE, str, list), "cross-entropy class weights: None, 'auto' (inverse frequency) or one per class", ge=0
    ),
    "scheduler": Key("CosineAnnealingLR", (NONE, str), "learning-rate schedule (None = constant)", choices=SCHEDULERS),
    "scheduler_interval": Key(
        "iteration", (str,), "step the scheduler every iteration or every epoch", choices=("iteration", "epoch")
    ),
    "cosine_t_max": Key(None, (NONE, *NUMBER), "epochs of one cosine half-period (None = epochs)", gt=0),
    "step_size": Key(3, (int,), "StepLR: epochs between decays", ge=1),
    "step_gamma": Key(0.1, NUMBER, "StepLR: factor of the learning rate every step_size epochs", gt=0),
    "warmup_epochs": Key(0.0, NUMBER, "linear warm-up before the schedule, in epochs (may be fractional)", ge=0),
}

DATA: dict[str, Key] = {
    "data_dir": Key("data", (str,), "the images: class folders, or a label file (train.txt/train.csv)"),
    "classes": Key(None, (NONE, list), "None = discovered from the data; a list = these classes, in this order"),
    "image_size": Key(224, (int,), "side of the square images the model sees, in pixels", ge=16),
    "val_fraction": Key(0.2, NUMBER, "fraction of each class held out when data_dir has no val/ split", gt=0, lt=1),
    "num_workers": Key(None, (NONE, int), "DataLoader worker processes (None = min(8, CPU count))", ge=0),
    "sampler": Key(
        None,
        (NONE, str),
        "training sampler: None (shuffle) or 'balanced' (classes equally often)",
        choices=(None, "balanced"),
    ),
    "color_jitter": Key(0.0, NUMBER, "brightness/contrast/saturation jitter of training images (0 = off)", ge=0),
    "label_file": Key(None, (NONE, str), "None = data_dir/train.txt or train.csv if there; or a .txt/.csv path"),
    "folds": Key(None, (NONE, int), "k-fold cross-validation over all labelled images: the number of folds", ge=2),
    "fold": Key(0, (int,), "with folds: the fold validated on (0 .. folds-1)", ge=0),
    "on_bad_image": Key(
        "error", (str,), "an unreadable image: 'error' (name it and stop) or 'skip' it", choices=("error", "skip")
    ),
    "mixup_alpha": Key(0.0, NUMBER, "MixUp of training batches, Beta(alpha, alpha) (0 = off)", ge=0),
    "cutmix_alpha": Key(0.0, NUMBER, "CutMix of training batches (0 = off; with MixUp each batch gets one)", ge=0),
    "ema_decay": Key(None, (NONE, float), "validate and checkpoint an EMA of the weights, e.g. 0.999", gt=0, lt=1),
    "augment": Key("none", (str,), "augmentation policy of training images (torchvision v2)", choices=POLICIES),
    "augment_magnitude": Key(None, (NONE, int), "randaugment 0-30 (default 9); augmix 1-10 (default 3)", ge=0),
    "random_erasing": Key(0.0, NUMBER, "probability of RandomErasing per training image (0 = off)", ge=0, le=1),
    "tta": Key(None, (NONE, str, list), "test-time augmentation at validation: hflip, scales, five_crop (a,b: both)"),
    "tta_scales": Key([0.875, 1.0, 1.125], (list,), "image scales of the 'scales' TTA mode", gt=0),
    "init_from": Key(None, (NONE, str), "start from this checkpoint's (or run/cv dir's) weights; fresh optimizer"),
    "extra_train": Key(None, (NONE, str), "label file of images only ever added to training (pseudo-labels)"),
    "groups": Key(None, (NONE, str), "'file<TAB>group' file: folds keep a group on one side (StratifiedGroupKFold)"),
}

UPDATE: dict[str, Key] = {
    "amp": Key(
        "auto",
        (str, bool),
        "mixed precision: auto (bf16 on GPUs, fp32 on CPU), bf16, fp16 (CUDA) or False",
        choices=AMP_MODES,
    ),
    "device": Key("auto", (str,), "auto, cpu, cuda or cuda:N"),
    "channels_last": Key(True, (bool,), "channels-last memory format (faster convolutions on GPUs)"),
    "grad_clip": Key(None, (NONE, *NUMBER), "clip the gradient norm to this value (None = off)", gt=0),
    "accumulation_steps": Key(1, (int,), "batches whose gradients are summed before each optimizer step", ge=1),
    "seed": Key(42, (int,), "random seed (data split, initialisation, augmentation)", ge=0, le=2**32 - 1),
}

SPEED: dict[str, Key] = {
    "compile": Key(False, (bool,), "torch.compile the model (the compile time is logged)"),
    "cache": Key(
        None, (NONE, str), "None, or 'memory': decode every image once, augment per batch", choices=(None, "memory")
    ),
    "jpeg_draft": Key(True, (bool,), "decode large JPEGs at a reduced scale (>= image_size / 0.875)"),
    "nproc_per_node": Key(1, (int,), "processes (GPUs) on this machine; batch_size is their global batch", ge=1),
    "threads": Key(
        None,
        (NONE, int),
        "torch intra-op threads (None = the cores this process may use, minus the DataLoader workers)",
        ge=1,
    ),
}

BOOKKEEPING: dict[str, Key] = {
    "log_every": Key(10, (int,), "iterations between train loss/accuracy/lr logs", ge=1),
    "checkpoint_metric": Key(
        "val_acc", (str,), "metric of the best checkpoint, e.g. val_acc, val_macro_f1, val_score, val_f1/CLASS"
    ),
    "f1_weights": Key(None, (NONE, dict), "{class: weight} for val_score (None = the Tianchi weights, others 1)", ge=0),
    "n_saved": Key(1, (int,), "best checkpoints kept", ge=1),
    "patience": Key(None, (NONE, int), "stop after this many epochs without improvement (None = never)", ge=1),
    "output_dir": Key("runs", (str,), "folder of the run directories"),
    "name": Key(None, (NONE, str, int), "run name (None = experiment name + timestamp)"),
    "wandb_project": Key("ignite_fire", (str,), "W&B project"),
    "wandb_group": Key(None, (NONE, str), "W&B group (a sweep puts its trials in one group)"),
    "wandb_job_type": Key(None, (NONE, str), "W&B job_type of the run ('fold' for the folds of a cv)"),
    "wandb_mode": Key(
        None, (NONE, str), "None = $WANDB_MODE, else offline", choices=(None, "offline", "online", "disabled")
    ),
    "resume": Key(None, (NONE, str), "None, 'auto' (this --name's last checkpoint) or a checkpoint path"),
    "stop_after_epoch": Key(None, (NONE, int), "stop cleanly after this epoch, as a pre-emption would", ge=1),
    "stop_after_iteration": Key(None, (NONE, int), "stop cleanly after this iteration", ge=1),
    "loggers": Key(["wandb", "csv"], (list, str), f"where metrics go, any of {', '.join(LOGGERS)} (a list or a,b)"),
}

PICTURES: dict[str, Key] = {
    "plots": Key(True, (bool,), "False turns off every picture (files and W&B media); watch is separate"),
    "graph": Key(True, (bool,), "draw the torchviz model graph at the start"),
    "gallery_every": Key(1, (NONE, int), "epochs between prediction galleries (0 or None = none)", ge=0),
    "gallery_size": Key(16, (int,), "images per gallery: class examples and the most confident mistakes", ge=1),
    "watch": Key("gradients", (NONE, str), "wandb.watch histograms", choices=(None, "gradients", "parameters", "all")),
    "gradcam": Key(False, (bool,), "draw the gallery's mistakes with Grad-CAM heat maps (needs the explain extra)"),
    "watch_every": Key(100, (int,), "iterations between wandb.watch histograms", ge=1),
}

GROUPS: dict[str, dict[str, Key]] = {
    "What to train": TRAINING,
    "Data": DATA,
    "The update step": UPDATE,
    "Speed and scale": SPEED,
    "Bookkeeping": BOOKKEEPING,
    "Pictures": PICTURES,
}
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


def logger_names(config: Mapping[str, Any]) -> list[Any]:
    """``config["loggers"]`` as a list of names (one name, a list, or comma-separated names: ``wandb,csv``)."""
    value = config["loggers"]
    return [n.strip() if isinstance(n, str) else n for n in (value.split(",") if isinstance(value, str) else value)]


def _check_rules(config: Mapping[str, Any]) -> None:
    """The rules between keys, and the shapes a type alone does not say."""
    unknown = [n for n in logger_names(config) if n not in LOGGERS]
    if unknown:
        loggers = config["loggers"]
        raise UserError(f"--loggers={loggers!r} is not allowed: {unknown[0]!r} is not one of {', '.join(LOGGERS)}")
    folds, fold = config["folds"], config["fold"]
    if folds is not None and fold >= folds:
        raise UserError(f"--fold={fold} is out of range: with --folds={folds} it must be 0 .. {folds - 1}")
    weights = config["class_weights"]
    if isinstance(weights, str) and weights != "auto":
        raise UserError(f"--class_weights={weights!r} is not allowed: use 'auto', None, or one number per class")
    classes = config["classes"]
    if classes is not None:
        if not all(isinstance(c, str) and c for c in classes):
            raise UserError(f"--classes={classes!r} has the wrong type: expected a list of class names (strings)")
        if len(set(classes)) != len(classes) or len(classes) < 2:
            raise UserError(f"--classes={classes!r} is not allowed: name two or more different classes")
    f1_weights = config["f1_weights"]
    if f1_weights is not None and not all(isinstance(name, str) for name in f1_weights):
        raise UserError(f"--f1_weights={f1_weights!r} has the wrong type: expected {{class name: weight}}")
    metric = config["checkpoint_metric"]
    if not _metric_form_ok(metric):
        raise UserError(f"--checkpoint_metric={metric!r} is not a validation metric: {_metric_choices(None)}")
    _check_magnitude(config["augment"], config["augment_magnitude"])


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


def _metric_choices(classes: Sequence[str] | None) -> str:
    names = ", ".join(metric_names([]))
    per_class = ", ".join(f"val_{k}/CLASS" for k in PER_CLASS_METRICS)
    where = f" with CLASS one of {', '.join(classes)}" if classes else ""
    return f"choose one of {names}, {per_class}{where}"


def check_config(config: Mapping[str, Any]) -> None:
    """Check every schema key of ``config`` (type, choices, range) and the rules between keys.

    Call before any data is read; raises a one-line UserError naming the key and what is allowed.
    """
    for key, spec in SCHEMA.items():
        check_value(key, config[key], spec.default)
    _check_rules(config)


def check_data_keys(config: Mapping[str, Any], classes: Sequence[str], metrics: Sequence[str] | None = None) -> None:
    """Check the keys that name classes or metrics, once the data's ``classes`` are known.

    ``metrics``: the validation metrics the run computes (default: the framework's for ``classes``).
    """
    metric = METRIC_ALIASES.get(config["checkpoint_metric"], config["checkpoint_metric"])
    if metric not in (metric_names(classes) if metrics is None else metrics):
        choices = _metric_choices(classes) if metrics is None else f"choose one of {', '.join(metrics)}"
        raise UserError(f"--checkpoint_metric={metric!r} is not a validation metric: {choices}")
    unknown = sorted(set(config["f1_weights"] or {}) - set(classes))
    if unknown:
        raise UserError(
            f"--f1_weights names {', '.join(map(repr, unknown))}, not a class of this data: "
            f"the classes are {', '.join(classes)}"
        )
    for key in ("focal_alpha", "class_weights"):
        value = config[key]
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
