"""``pretrained=PATH``: load a local ``.pth``, ``.pt`` or ``.safetensors`` file into any model.

Tensors are matched by name (a ``module.`` or ``_orig_mod.`` prefix is dropped; an ignite_fire
checkpoint's ``model`` entry and a ``state_dict`` entry are looked into). Tensors whose shape differs
from the model's, such as a classifier head for another number of classes, are left out: the model
keeps its fresh head. What was loaded and what was left out is logged.

Example::

    model = build_model({**DEFAULTS, "model": "timm/convnext_atto", "pretrained": "my_weights.safetensors"}, 5)
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ignite_fire.errors import UserError

logger = logging.getLogger("ignite_fire")

SUFFIXES = (".pth", ".pt", ".safetensors")
PREFIXES = ("module.", "_orig_mod.")
SHOW = 6


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a weights file, by name."""
    if path.suffix not in SUFFIXES:
        raise UserError(f"--pretrained={path}: expected a {', '.join(SUFFIXES)} file, True or False")
    if not path.is_file():
        raise UserError(f"--pretrained={path}: no such file")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:  # weights_only=True refused code in the pickle: torch explains in 6 lines
        raise UserError(
            f"--pretrained={path} is refused: it holds pickled objects, not only tensors (weights_only=True); "
            "re-save its state_dict (torch.save(model.state_dict(), PATH)) or use .safetensors"
        ) from error
    except Exception as error:  # a corrupt or foreign file: say which one, in one line
        first = (str(error).strip().splitlines() or [""])[0]
        raise UserError(f"--pretrained={path} cannot be read ({type(error).__name__}: {first})") from error
    for key in ("model", "state_dict", "model_state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise UserError(f"--pretrained={path} holds a {type(state).__name__}, not a state dict of tensors")
    return {_strip(k): v for k, v in state.items() if isinstance(v, torch.Tensor)}


def _strip(name: str) -> str:
    for prefix in PREFIXES:
        while name.startswith(prefix):
            name = name[len(prefix) :]
    return name


def load_weights_file(model: nn.Module, path: str | Path) -> tuple[list[str], list[str]]:
    """Load the tensors of ``path`` that fit ``model``; returns (loaded names, names of ``model`` left as they were)."""
    path = Path(path).expanduser()
    state = read_state_dict(path)
    own = model.state_dict()
    fitting = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not fitting:
        raise UserError(f"--pretrained={path}: none of its {len(state)} tensors fit {type(model).__name__}")
    model.load_state_dict(fitting, strict=False)
    kept = sorted(k for k in own if k not in fitting)
    unused = sorted(k for k in state if k not in fitting)
    logger.info(f"pretrained {path.name}: loaded {len(fitting)}/{len(own)} tensors")
    if kept:
        more = f", ... ({len(kept)} in all)" if len(kept) > SHOW else ""
        logger.info(f"  left out (kept as initialised): {', '.join(kept[:SHOW])}{more}")
    if unused:
        more = f", ... ({len(unused)} in all)" if len(unused) > SHOW else ""
        logger.info(f"  not used from the file: {', '.join(unused[:SHOW])}{more}")
    return sorted(fitting), kept
