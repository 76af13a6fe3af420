"""The values that the config schema and the code both read, declared once and without torch.

:mod:`ignite_fire.config` checks a config against these before anything heavy is imported (so
``--help`` and a mistyped value answer without torch); the modules that act on them (optim, losses,
engines, metrics, data/augment, data/transforms) import them from here.
"""

from __future__ import annotations

from collections.abc import Sequence

OPTIMIZERS = ("Adam", "AdamW", "SGD")  # optim.build_optimizer
SCHEDULERS = (None, "CosineAnnealingLR", "StepLR")  # optim.build_scheduler
LOSSES = ("CrossEntropyLoss", "FocalLoss")  # losses.build_loss
AMP_MODES = ("auto", "bf16", "fp16", False)  # engines.create_train_step

POLICIES = ("none", "randaugment", "trivialaugment", "autoaugment", "augmix")  # data.augment.build_policy
MAGNITUDE_RANGES = {"randaugment": (0, 30), "augmix": (1, 10)}  # augment_magnitude of each policy that has one
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # data.transforms normalises with these
IMAGENET_STD = (0.229, 0.224, 0.225)

SCORE = "val_score"  # metrics.derived_scores: the competition score
# Old metric names still accepted (checkpoint_metric, a sweep's metric.name) -> their names now.
METRIC_ALIASES = {"val_weighted_f1": SCORE}
PER_CLASS_METRICS = ("precision", "recall", "f1")


def metric_names(classes: Sequence[str]) -> list[str]:
    """The names of the scalar validation metrics a run with ``classes`` computes."""
    per_class = [f"val_{kind}/{name}" for kind in PER_CLASS_METRICS for name in classes]
    return ["val_acc", "val_loss", "val_macro_f1", SCORE, *per_class]
