"""``--init_from``: start a new run from another run's model weights (multi-stage training).

Only the model weights are taken (a fresh optimizer, schedule and run directory); when the class
list differs, the classification head (the weights whose shape no longer fits) keeps its fresh
initialisation and the log says so::

    python -m ignite_fire experiments/x.py --init_from=runs/stage1 --image_size=384 --name=stage2
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import torch

from ignite_fire.cv_dir import is_cv_dir
from ignite_fire.errors import UserError
from ignite_fire.handlers.checkpoints import load_checkpoint, load_model_state

logger = logging.getLogger("ignite_fire")


def init_checkpoint(spec: str | Path) -> Path:
    """The checkpoint file of ``spec``: itself, or the best checkpoint a run directory's results.json names."""
    path = Path(spec).expanduser()
    if is_cv_dir(path):
        raise UserError(f"--init_from={spec} is a cv directory: use it with the cv command, or name one fold")
    if path.is_file():
        return path
    results = path / "results.json"
    best = json.loads(results.read_text(encoding="utf-8")).get("best_checkpoint") if results.is_file() else None
    # results.json names the file as the run saw it (relative to its working folder with a relative output_dir):
    # the file itself is in this run directory's checkpoints/.
    best_path = path / "checkpoints" / Path(best).name if best else None
    if best_path is None or not best_path.is_file():
        raise UserError(f"--init_from={spec}: no checkpoint file there, nor a finished run's best checkpoint")
    return best_path


def load_initial_weights(model: torch.nn.Module, spec: str | Path, classes: Sequence[str]) -> list[str]:
    """Load the weights of checkpoint ``spec`` into ``model``; returns the re-initialised (head) weights' names."""
    path = init_checkpoint(spec)
    checkpoint = load_checkpoint(path)
    state = dict(checkpoint["model"])
    saved_classes = checkpoint.get("classes")
    own = model.state_dict()
    reset: list[str] = []
    if saved_classes is not None and list(saved_classes) != list(classes):
        reset = [k for k, v in own.items() if k in state and tuple(state[k].shape) != tuple(v.shape)]
        state.update({k: own[k] for k in reset})
        logger.info(
            f"init_from {path}: its classes {list(saved_classes)} differ from {list(classes)}; "
            f"head re-initialised ({', '.join(reset) or 'no weight changed shape'})"
        )
    load_model_state(model, state, str(path))
    logger.info(f"init_from {path}: model weights loaded (fresh optimizer and schedule)")
    return reset
