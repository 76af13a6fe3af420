"""The device a run trains on, and its seed: helpers below training, distributed and predict."""

from __future__ import annotations

import torch
from ignite.utils import manual_seed

from ignite_fire.errors import UserError


def resolve_device(spec: str) -> torch.device:
    """``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` as a torch device."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError as error:
        raise UserError(f"--device={spec!r} is not a device: use auto, cpu, cuda or cuda:N") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device={spec} but CUDA is not available here: use --device=cpu or --device=auto")
    return device


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) with Ignite's ``manual_seed``."""
    manual_seed(seed)
