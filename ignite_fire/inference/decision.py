"""Applying a decision: the class indices ``argmax(scale * log p + bias)`` of a ``decision.json``, for predict.

The decision is tuned by :mod:`ignite_fire.competition.decision` (the cv command) on out-of-fold
probabilities; predict and pseudo-label read it back and apply it here::

    decision, path = choose_decision("auto", cv_decision)   # "auto", "none" or a decision.json
    labels = apply_decision(probabilities, decision, classes)

Every decision family the cv tunes (free biases, a prior correction, a temperature on the heavy
classes, shrunk biases) is stored in this one form: ``scale`` per class (1 when absent: decision.json
files written before the families existed) and ``bias`` per class.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from ignite_fire.errors import UserError

EPSILON = 1e-7


def decide(
    probabilities: torch.Tensor, bias: Sequence[float] | None = None, scale: Sequence[float] | None = None
) -> torch.Tensor:
    """Class indices ``argmax(scale * log p + bias)`` (scale and bias per class; None: 1 and 0)."""
    logits = probabilities.double().clamp(min=EPSILON).log()
    if scale is not None:
        logits = logits * torch.tensor(list(scale), dtype=torch.float64)
    if bias is not None:
        logits = logits + torch.tensor(list(bias), dtype=torch.float64)
    return logits.argmax(dim=1)


def read_decision(path: str | Path) -> dict[str, Any]:
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"--decision file not found: {path} (pass a decision.json or --decision=none)")
    try:
        decision = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise UserError(f"--decision {path} is not JSON ({error.msg} at line {error.lineno})") from error
    if not isinstance(decision, dict) or not isinstance(decision.get("bias"), list):
        raise UserError(f"--decision {path} has no 'bias' list: pass a decision.json written by cv")
    scale = decision.get("scale")
    if scale is not None and (not isinstance(scale, list) or len(scale) != len(decision["bias"])):
        raise UserError(f"--decision {path}: 'scale' is not a list as long as 'bias': pass one written by cv")
    return decision


def apply_decision(probabilities: torch.Tensor, decision: Mapping[str, Any], classes: Sequence[str]) -> torch.Tensor:
    """Class indices of ``decision`` (its classes must be ``classes``, in that order)."""
    scale = decision.get("scale")
    sizes = {len(decision["bias"]), len(classes), *([len(scale)] if scale is not None else [])}
    if list(decision.get("classes", classes)) != list(classes) or sizes != {len(classes)}:
        raise UserError(
            f"the decision is for classes {decision.get('classes')}, but the checkpoints predict {list(classes)}"
        )
    return decide(probabilities, decision["bias"], scale)


def choose_decision(spec: str | None, cv_decision: Path | None) -> tuple[dict[str, Any] | None, Path | None]:
    """predict's ``--decision``: "auto" (a cv directory's decision.json, if any), "none", or a file."""
    if spec is None or str(spec).lower() in ("none", ""):
        return None, None
    if spec == "auto":
        return (read_decision(cv_decision), cv_decision) if cv_decision is not None else (None, None)
    return read_decision(spec), Path(spec).expanduser()


def decision_text(decision: Mapping[str, Any] | None, path: Path | None) -> str:
    """What predict says about its decision, in one phrase."""
    if decision is None:
        return "decision: plain argmax (--decision=none, or no decision.json)"
    if decision.get("kind") == "argmax":
        return f"decision {path}: plain argmax ({decision.get('note', 'biases all 0')})"
    bias = ", ".join(f"{b:+.2f}" for b in decision["bias"])
    family = decision.get("family", "bias")
    scale = decision.get("scale")
    if scale is not None and any(s != 1 for s in scale):
        scales = ", ".join(f"{s:.2f}" for s in scale)
        return f"decision {path} ({family}): argmax(scale * log p + bias), scale [{scales}], bias [{bias}]"
    return f"decision {path} ({family}): argmax(log p + bias), bias [{bias}] tuned for {decision.get('metric')}"
