"""Best-model and ``last`` checkpoints with Ignite's :class:`~ignite.handlers.Checkpoint`, and safe loading.

* ``checkpoints/best_checkpoint_{epoch}_{metric}={score}.pt``: ``model``, ``classes``,
  ``config`` and ``meta`` (epoch, metric, score): enough to predict with nothing else.
* ``checkpoints/last.pt``: everything needed to resume exactly (see
  :func:`ignite_fire.training.build_run`), replaced atomically every epoch.

Every file loads with ``torch.load(path, weights_only=True)``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from ignite.engine import Engine
from ignite.handlers import Checkpoint, global_step_from_engine

from ignite_fire.choices import unknown_metric_error
from ignite_fire.errors import UserError
from ignite_fire.handlers.disk_saver import SafeDiskSaver

LAST_CHECKPOINT = "last.pt"


class Value:
    """A plain value (class list, config, run id, history) made checkpointable.

    ``state_dict`` returns the value (or calls ``getter`` for a value computed at save time);
    ``load_state_dict`` stores the loaded value in ``.value``.
    """

    def __init__(self, value: Any = None, getter: Callable[[], Any] | None = None) -> None:
        self.value = value
        self.getter = getter

    def state_dict(self) -> Any:
        return self.getter() if self.getter is not None else self.value

    def load_state_dict(self, state: Any) -> None:
        self.value = state


def score_sign(metric: str) -> float:
    """+1 for metrics where higher is better, -1 for losses."""
    return -1.0 if metric.endswith("loss") else 1.0


def metric_score(metric: str) -> Callable[[Engine], float]:
    """A score function reading ``metric`` from ``engine.state.metrics`` (higher is better; losses negated)."""

    def score(engine: Engine) -> float:
        if metric not in engine.state.metrics:
            names = sorted(k for k in engine.state.metrics if not k.endswith("matrix"))[:12]
            raise unknown_metric_error("--checkpoint_metric", metric, metrics=names)
        return score_sign(metric) * float(engine.state.metrics[metric])

    return score


def best_record(history: Sequence[Mapping[str, Any]], metric: str) -> Mapping[str, Any] | None:
    """The first epoch's record with the best finite ``metric`` (the epoch the best checkpoint holds)."""
    scored = [r for r in history if isinstance(r.get(metric), (int, float)) and math.isfinite(r[metric])]
    if not scored:
        return None
    return max(scored, key=lambda r: (score_sign(metric) * r[metric], -r["epoch"]))


def kept_epoch(checkpointer: Checkpoint) -> int | None:
    """The epoch of the best checkpoint ``checkpointer`` keeps (its ``last_checkpoint``), or None.

    With tied scores Ignite keeps the earlier file when ``n_saved`` is full, and both otherwise,
    the later one sorting last: the epoch is read from the kept file's name, not recomputed.
    """
    path = checkpointer.last_checkpoint
    found = re.search(r"_checkpoint_(\d+)_", Path(str(path)).name) if path is not None else None
    return int(found.group(1)) if found else None


def kept_best_record(
    history: Sequence[Mapping[str, Any]], checkpointer: Checkpoint, metric: str
) -> Mapping[str, Any] | None:
    """The history record of the epoch whose best checkpoint is kept (:func:`best_record` without one)."""
    epoch = kept_epoch(checkpointer)
    kept = [r for r in history if r["epoch"] == epoch]
    return kept[0] if kept else best_record(history, metric)


def best_checkpointer(
    to_save: Mapping[str, Any], dirname: Path, metric: str, n_saved: int, trainer: Engine
) -> Checkpoint:
    """Keeps the ``n_saved`` best checkpoints by the evaluator's ``metric``; attach to the evaluator."""
    return Checkpoint(
        dict(to_save),
        SafeDiskSaver(dirname),
        filename_prefix="best",
        score_function=metric_score(metric),
        score_name=metric,
        n_saved=n_saved,
        global_step_transform=global_step_from_engine(trainer),
    )


def last_checkpointer(to_save: Mapping[str, Any], dirname: Path) -> Checkpoint:
    """Writes ``last.pt`` (replaced atomically each time it is called)."""
    return Checkpoint(
        dict(to_save),
        SafeDiskSaver(dirname),
        filename_pattern=LAST_CHECKPOINT,
        n_saved=1,
    )


PICKLE_MAGIC = b"\x80"  # torch.save's legacy format is a pickle
ZIP_MAGIC = b"PK\x03\x04"  # its default format is a zip archive


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """``torch.load(path, weights_only=True)`` with one-line errors for missing, foreign or damaged files."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint not found: {path}")
    with path.open("rb") as handle:
        head = handle.read(4)
    if head and not head.startswith((ZIP_MAGIC, PICKLE_MAGIC)):
        raise UserError(f"{path} is not an ignite_fire checkpoint (not a file saved by torch.save)")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        reason = str(error).strip().splitlines()[0].split(". ")[0] if str(error).strip() else type(error).__name__
        if not head:
            reason = "the file is empty"
        if "Weights only load failed" in reason:
            raise UserError(
                f"{path} is not an ignite_fire checkpoint (it holds Python objects, not only tensors and values)"
            ) from error
        raise UserError(f"{path} is damaged (truncated or corrupt): {reason}") from error
    if not isinstance(checkpoint, dict) or "model" not in checkpoint:
        raise UserError(f"{path} is not an ignite_fire checkpoint (no 'model' entry)")
    return checkpoint


def load_model_state(model: torch.nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """``model.load_state_dict(state)`` with a one-line error naming the first mismatch."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        first = missing[0] if missing else unexpected[0]
        raise UserError(
            f"{source} is from a different model: {len(missing)} missing and {len(unexpected)} unexpected "
            f"weights (first: {first}); check --model"
        )
    for key, tensor in own.items():
        if tuple(tensor.shape) != tuple(state[key].shape):
            raise UserError(
                f"{source} does not fit this model: {key} has shape {tuple(state[key].shape)} there and "
                f"{tuple(tensor.shape)} here (a different model or number of classes)"
            )
    model.load_state_dict(state)
