"""Settings that make a step fast: cuDNN autotuning, TF32, ``torch.compile``.

Example::

    configure_cuda(device)
    forward_model = compile_model(model, enabled=True)
"""

from __future__ import annotations

import torch
from torch import nn


def configure_cuda(device: torch.device) -> None:
    """On CUDA: let cuDNN pick the fastest convolution algorithms (fixed image sizes) and allow TF32 in fp32 math."""
    if device.type != "cuda":
        return
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True


def compile_model(model: nn.Module, enabled: bool) -> nn.Module:
    """``torch.compile(model)`` when ``enabled`` (compilation happens on the first call), else ``model``.

    Keep the original module for checkpoints: the compiled wrapper's ``state_dict`` keys carry an
    ``_orig_mod.`` prefix. Both share the same parameters.
    """
    if not enabled:
        return model
    return torch.compile(model)  # type: ignore[return-value]  # torch.compile of a Module returns a Module (OptimizedModule)
