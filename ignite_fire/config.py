"""The configuration every experiment starts from, and the checks applied to overrides.

A config is a plain ``dict`` of plain values (str, int, float, bool, None, lists and dicts of
those), so it can be written to ``config.json``, given to W&B and stored in a checkpoint.
``DEFAULTS`` holds every key the framework reads; an experiment module's ``config`` dict
replaces some of them and may add keys of its own.
"""

from __future__ import annotations

import difflib
from typing import Any

from ignite_fire.errors import UserError

DEFAULTS: dict[str, Any] = {
    # What to train (the seed script's keys).
    "model": "resnet18",
    "pretrained": True,
    "epochs": 5,
    "batch_size": 32,
    "learning_rate": 0.005,
    "optimizer": "Adam",  # Adam, AdamW or SGD
    "weight_decay": 0.0,
    "momentum": 0.9,  # SGD only
    "loss_function": "CrossEntropyLoss",  # or FocalLoss
    "focal_alpha": 0.25,  # a number, or one number per class
    "focal_gamma": 2.0,
    "label_smoothing": 0.0,
    "class_weights": None,  # None, "auto" (inverse class frequency) or one weight per class
    "scheduler": "CosineAnnealingLR",  # CosineAnnealingLR, StepLR or None
    "scheduler_interval": "iteration",  # step the scheduler every "iteration" or every "epoch"
    "cosine_t_max": None,  # epochs of one cosine half-period; None = epochs
    "step_size": 3,  # StepLR: epochs between decays
    "step_gamma": 0.1,  # StepLR: decay factor
    "warmup_epochs": 0.0,  # linear warm-up in front of any scheduler (may be fractional)
    # Data.
    "data_dir": "data",
    "classes": None,  # None = discovered from the data; a list = these classes, in this order
    "image_size": 224,
    "val_fraction": 0.2,  # used when data_dir has no val/ folder
    "num_workers": None,  # None = min(8, CPU count)
    "sampler": None,  # None or "balanced"
    "color_jitter": 0.0,  # brightness/contrast/saturation jitter of training images (0 = off)
    "label_file": None,  # None = data_dir/train.txt or train.csv if there, else class folders; or a .txt/.csv path
    "folds": None,  # k-fold cross-validation over all labelled images: number of folds (>= 2)
    "fold": 0,  # with folds: the fold validated on (0 .. folds-1)
    "on_bad_image": "error",  # "error" (name the file and stop) or "skip" (leave unreadable images out)
    "mixup_alpha": 0.0,  # MixUp on training batches, Beta(alpha, alpha) (0 = off)
    "cutmix_alpha": 0.0,  # CutMix on training batches (0 = off); with both > 0 each batch gets one of them
    "ema_decay": None,  # e.g. 0.999: validate and checkpoint an exponential moving average of the weights
    # The update step.
    "amp": "auto",  # "auto" (bf16 on GPUs, fp32 on CPU), "bf16", "fp16" (CUDA, with GradScaler) or False
    "device": "auto",  # "auto", "cpu", "cuda", "cuda:1", ...
    "channels_last": True,
    "grad_clip": None,  # max gradient norm, or None
    "accumulation_steps": 1,
    "seed": 42,
    # Speed and scale (see README "Fast on one GPU, scalable to many").
    "compile": False,  # torch.compile the model (the compile time is logged)
    "cache": None,  # None, or "memory": decode+resize every image once, augment per batch
    "jpeg_draft": True,  # decode large JPEGs at a reduced scale (>= image_size / 0.875 on both sides)
    "nproc_per_node": 1,  # processes (GPUs) on this machine; batch_size is the global batch over all of them
    # Bookkeeping.
    "log_every": 10,  # iterations between train-loss/accuracy/lr logs
    "checkpoint_metric": "val_acc",  # any validation metric, e.g. val_macro_f1
    "f1_weights": None,  # {class: weight} for val_weighted_f1; None = the Tianchi weights (others weigh 1)
    "n_saved": 1,  # best checkpoints kept
    "patience": None,  # early stopping after this many epochs without improvement
    "output_dir": "runs",
    "name": None,  # None = experiment name + timestamp
    "wandb_project": "ignite_fire",
    "wandb_group": None,  # W&B group (a sweep puts its trials in one group)
    "wandb_mode": None,  # None = $WANDB_MODE, else "offline"; "online" or "disabled"
    "resume": None,  # None, "auto" (this run name's last checkpoint) or a checkpoint path
    "stop_after_epoch": None,  # stop cleanly after this epoch, as a pre-emption would
    "stop_after_iteration": None,  # stop cleanly after this iteration
    # Pictures (run directory, W&B and index.html).
    "plots": True,  # False turns off every picture below (files and W&B media); watch is separate
    "graph": True,  # draw the torchviz model graph at the start (model_graph.dot, .png/.svg with Graphviz)
    "gallery_every": 1,  # epochs between prediction galleries (the last epoch always gets one); 0 = none
    "gallery_size": 16,  # images per gallery: class examples and the most confident mistakes
    "watch": "gradients",  # wandb.watch: "gradients", "parameters", "all" or None
    "watch_every": 100,  # iterations between wandb.watch histograms
    # --- models keys ---
    "drop_rate": None,  # timm models: dropout before the classifier (None = the model's default)
    "drop_path_rate": None,  # timm models: stochastic depth rate (None = the model's default)
    "layer_decay": None,  # e.g. 0.75: layer-wise LR decay (timm models, torchvision ResNets/EfficientNets)
    "head_lr_scale": 1.0,  # the classifier head's LR = learning_rate * head_lr_scale
    "weight_decay_norm_bias": False,  # False: no weight decay on norm weights and biases (as in timm)
    "freeze_epochs": 0,  # train only the head for this many epochs, then everything
    "augment": "none",  # none, randaugment, trivialaugment, autoaugment or augmix (torchvision v2)
    "augment_magnitude": None,  # randaugment: magnitude 0-30 (default 9); augmix: severity 1-10 (default 3)
    "random_erasing": 0.0,  # probability of RandomErasing per training image (0 = off)
    "tta": None,  # validation TTA: None or modes "hflip,scales,five_crop" (any combination)
    "tta_scales": [0.875, 1.0, 1.125],  # image scales of the "scales" TTA mode
}

# Accepted types for keys whose default does not say it (None defaults, numbers that may be either).
TYPES: dict[str, tuple[type, ...]] = {
    "learning_rate": (float, int),
    "weight_decay": (float, int),
    "momentum": (float, int),
    "focal_alpha": (float, int, list, tuple),
    "focal_gamma": (float, int),
    "label_smoothing": (float, int),
    "class_weights": (type(None), str, list, tuple),
    "scheduler": (type(None), str),
    "cosine_t_max": (type(None), int, float),
    "step_gamma": (float, int),
    "warmup_epochs": (float, int),
    "classes": (type(None), list, tuple),
    "val_fraction": (float, int),
    "num_workers": (type(None), int),
    "sampler": (type(None), str),
    "cache": (type(None), str),
    "amp": (str, bool),
    "grad_clip": (type(None), float, int),
    "patience": (type(None), int),
    "name": (type(None), str, int),
    "wandb_mode": (type(None), str),
    "wandb_group": (type(None), str),
    "f1_weights": (type(None), dict),
    "color_jitter": (float, int),
    "label_file": (type(None), str),
    "folds": (type(None), int),
    "mixup_alpha": (float, int),
    "cutmix_alpha": (float, int),
    "ema_decay": (type(None), float),
    "resume": (type(None), str),
    "stop_after_epoch": (type(None), int),
    "stop_after_iteration": (type(None), int),
    "gallery_every": (type(None), int),
    "watch": (type(None), str),
    "data_dir": (str,),
    "output_dir": (str,),
    # --- models keys ---
    "pretrained": (bool, str),
    "drop_rate": (type(None), float, int),
    "drop_path_rate": (type(None), float, int),
    "layer_decay": (type(None), float, int),
    "head_lr_scale": (float, int),
    "freeze_epochs": (int,),
    "augment_magnitude": (type(None), int),
    "random_erasing": (float, int),
    "tta": (type(None), str, list, tuple),
}

CHOICES: dict[str, tuple[Any, ...]] = {
    "optimizer": ("Adam", "AdamW", "SGD"),
    "loss_function": ("CrossEntropyLoss", "FocalLoss"),
    "scheduler": (None, "CosineAnnealingLR", "StepLR"),
    "scheduler_interval": ("iteration", "epoch"),
    "amp": ("auto", "bf16", "fp16", False),
    "sampler": (None, "balanced"),
    "cache": (None, "memory"),
    "on_bad_image": ("error", "skip"),
    "wandb_mode": (None, "offline", "online", "disabled"),
    "watch": (None, "gradients", "parameters", "all"),
    # --- models keys ---
    "augment": ("none", "randaugment", "trivialaugment", "autoaugment", "augmix"),
}


def _type_names(types: tuple[type, ...]) -> str:
    return " or ".join("None" if t is type(None) else t.__name__ for t in types)


def expected_types(key: str, default: Any) -> tuple[type, ...] | None:
    """The types a value of ``key`` may have; None means any."""
    if key in TYPES:
        return TYPES[key]
    if default is None:
        return None
    if isinstance(default, bool):
        return (bool,)
    if isinstance(default, float):
        return (float, int)
    if isinstance(default, (list, tuple)):
        return (list, tuple)
    return (type(default),)


def check_value(key: str, value: Any, default: Any) -> Any:
    """Return ``value`` for ``key`` if its type (and choice) is allowed, else raise UserError."""
    types = expected_types(key, default)
    # bool is an int subclass: never accept True/False where a number is expected.
    is_bool_mismatch = isinstance(value, bool) and bool not in (types or ())
    if types is not None and (is_bool_mismatch or not isinstance(value, types)):
        raise UserError(
            f"--{key}={value!r} has the wrong type: expected {_type_names(types)}, got {type(value).__name__}"
        )
    if key in CHOICES and value not in CHOICES[key]:
        choices = ", ".join(repr(c) for c in CHOICES[key])
        raise UserError(f"--{key}={value!r} is not allowed: choose one of {choices}")
    if isinstance(value, tuple):
        value = list(value)
    return value


def closest_key(key: str, keys: list[str]) -> str | None:
    matches = difflib.get_close_matches(key, keys, n=1, cutoff=0.5)
    return matches[0] if matches else None


def apply_overrides(config: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``config`` with ``overrides`` applied; unknown keys and wrong types are UserErrors."""
    result = dict(config)
    for key, value in overrides.items():
        if key not in config:
            hint = closest_key(key, sorted(config))
            suggestion = f"; did you mean --{hint}?" if hint else "; see the experiment's config for valid keys"
            raise UserError(f"unknown config key --{key}{suggestion}")
        result[key] = check_value(key, value, config[key])
    return result
