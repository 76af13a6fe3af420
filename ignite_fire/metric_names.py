"""The validation metrics' names and the one message for a name that is not one of them. Torch-free,
so the config schema checks ``checkpoint_metric`` (and a sweep its ``metric.name``) without torch.

:mod:`ignite_fire.metrics` computes the metrics named here (and re-exports these names)::

    metric_names(["cat", "dog"])  # ["val_acc", "val_loss", "val_macro_f1", "val_score", "val_precision/cat", ...]
    raise unknown_metric_error("--checkpoint_metric", "val_f2")  # "--checkpoint_metric='val_f2' is not ..."
"""

from __future__ import annotations

from collections.abc import Sequence

from ignite_fire.errors import UserError

SCORE = "val_score"
# Old metric names still accepted (checkpoint_metric, a sweep's metric.name) -> their names now.
METRIC_ALIASES = {"val_weighted_f1": SCORE}
PER_CLASS_METRICS = ("precision", "recall", "f1")


def metric_names(classes: Sequence[str]) -> list[str]:
    """The names of the scalar validation metrics a run with ``classes`` computes."""
    per_class = [f"val_{kind}/{name}" for kind in PER_CLASS_METRICS for name in classes]
    return ["val_acc", "val_loss", "val_macro_f1", SCORE, *per_class]


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
