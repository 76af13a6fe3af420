"""The values that the config schema and the code both read, declared once and without torch.

:mod:`ignite_fire.config` checks a config against these before anything heavy is imported (so
``--help`` and a mistyped value answer without torch); the modules that act on them (optim, losses,
engines, metrics, data/augment, data/transforms) import them from here.
"""

from __future__ import annotations

from collections.abc import Sequence

from ignite_fire.errors import UserError

OPTIMIZERS = ("Adam", "AdamW", "SGD")  # optim.build_optimizer
SCHEDULERS = (None, "CosineAnnealingLR", "StepLR")  # optim.build_scheduler
LOSSES = ("CrossEntropyLoss", "FocalLoss")  # losses.build_loss
AMP_MODES = ("auto", "bf16", "fp16", False)  # engines.create_train_step

POLICIES = ("none", "randaugment", "trivialaugment", "autoaugment", "augmix")  # data.augment.build_policy
MAGNITUDE_RANGES = {"randaugment": (0, 30), "augmix": (1, 10)}  # augment_magnitude of each policy that has one
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # data.transforms normalises with these
IMAGENET_STD = (0.229, 0.224, 0.225)
# The evaluation crop, shared by the eval transform, the memory cache (which must store exactly those
# pixels), JPEG draft decoding and five-crop TTA: resize the shorter side to image_size / EVAL_CROP,
# keep the centre image_size square (the ImageNet convention, 224 of 256).
EVAL_CROP = 0.875

SCORE = "val_score"  # metrics.derived_scores: the competition score
# Old metric names still accepted (checkpoint_metric, a sweep's metric.name) -> their names now.
METRIC_ALIASES = {"val_weighted_f1": SCORE}
PER_CLASS_METRICS = ("precision", "recall", "f1")


def metric_names(classes: Sequence[str]) -> list[str]:
    """The names of the scalar validation metrics a run with ``classes`` computes."""
    per_class = [f"val_{kind}/{name}" for kind in PER_CLASS_METRICS for name in classes]
    return ["val_acc", "val_loss", "val_macro_f1", SCORE, *per_class]


def resize_size(image_size: int) -> int:
    """The shorter side the evaluation transform resizes to before its centre crop (``image_size / EVAL_CROP``)."""
    return round(int(image_size) / EVAL_CROP)


def unknown_metric_error(
    option: str | None, metric: object, classes: Sequence[str] | None = None, metrics: Sequence[str] | None = None
) -> UserError:
    """The one-line error for ``option=metric`` (just ``metric`` when ``option`` is None) naming no
    validation metric, with what to choose instead.

    ``metrics``: the names the run computes, when known (an experiment's own metrics); otherwise the
    framework's, with ``CLASS`` spelled out as ``classes`` when the data's classes are known.
    """
    if metrics is not None:
        choices = ", ".join(metrics)
    else:
        per_class = ", ".join(f"val_{kind}/CLASS" for kind in PER_CLASS_METRICS)
        where = f" with CLASS one of {', '.join(classes)}" if classes else ""
        choices = f"{', '.join(metric_names([]))}, {per_class}{where}"
    given = f"{option}={metric!r}" if option else repr(metric)
    return UserError(f"{given} is not a validation metric: choose one of {choices}")
