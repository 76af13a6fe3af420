"""Optimizers and learning-rate schedulers from the config (plain torch objects, checkpointable)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, LRScheduler, SequentialLR, StepLR

from ignite_fire.choices import OPTIMIZERS, SCHEDULERS  # config keys optimizer and scheduler
from ignite_fire.errors import UserError
from ignite_fire.finetune import parameter_groups


def build_optimizer(config: dict[str, Any], model: nn.Module) -> torch.optim.Optimizer:
    """Adam, AdamW or SGD (with ``momentum``) at ``learning_rate`` and ``weight_decay``."""
    name = config["optimizer"]
    lr, weight_decay = config["learning_rate"], config["weight_decay"]
    params = parameter_groups(  # layer_decay, head_lr_scale, no decay on norms/biases: ignite_fire/finetune.py
        model, lr, weight_decay, config["layer_decay"], config["head_lr_scale"], config["weight_decay_norm_bias"]
    )
    if name == "Adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "AdamW":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "SGD":
        return torch.optim.SGD(params, lr=lr, momentum=config["momentum"], weight_decay=weight_decay)
    raise UserError(f"unknown optimizer {name!r}: use one of {', '.join(OPTIMIZERS)}")


def build_scheduler(
    config: dict[str, Any], optimizer: torch.optim.Optimizer, steps_per_epoch: int
) -> LRScheduler | None:
    """The scheduler named by ``config["scheduler"]``, with an optional linear warm-up in front.

    Lengths are given in epochs in the config and converted to scheduler steps: iterations when
    ``scheduler_interval == "iteration"``, epochs otherwise. ``CosineAnnealingLR`` runs for
    ``cosine_t_max`` epochs (default: all epochs after the warm-up).
    """
    name = config["scheduler"]
    per_epoch = config["scheduler_interval"] == "epoch"
    steps = 1 if per_epoch else max(1, steps_per_epoch)
    warmup = round(config["warmup_epochs"] * steps)
    epochs = config["epochs"]

    main: LRScheduler | None
    if name is None:
        main = None
    elif name == "CosineAnnealingLR":
        t_max_epochs = config["cosine_t_max"] or epochs
        main = CosineAnnealingLR(optimizer, T_max=max(1, round(float(t_max_epochs) * steps) - warmup))
    elif name == "StepLR":
        main = StepLR(optimizer, step_size=max(1, config["step_size"] * steps), gamma=config["step_gamma"])
    else:
        raise UserError(f"unknown scheduler {name!r}: use one of {', '.join(map(str, SCHEDULERS))}")

    if warmup <= 0:
        return main
    ramp = LinearLR(optimizer, start_factor=1.0 / (warmup + 1), end_factor=1.0, total_iters=warmup)
    if main is None:
        return ramp
    return SequentialLR(optimizer, schedulers=[ramp, main], milestones=[warmup])


PROGRESS_KEYS = {"last_epoch", "_step_count", "_last_lr", "_get_lr_called_within_step", "_is_initial", "base_lrs"}
"""Scheduler state that records how far it got, not how it was set up (the rest must match on resume)."""


def lengthen_schedule(scheduler: Any, fresh: dict[str, Any]) -> bool:
    """Give ``scheduler`` (a checkpoint's state loaded into it) the length of ``fresh``, the state of the same
    scheduler built for a larger ``--epochs``: "train longer" on resume. True if a length changed.

    A cosine's ``T_max`` is set to the new one and its learning rates to the closed form at the step it
    reached, as if the run had been started with the new ``--epochs`` (the recursive form would stay at
    ``eta_min`` after a finished cosine). A scheduler whose other settings depend on the length (e.g.
    OneCycleLR's ``total_steps``) cannot be continued soundly: refused in one line.
    """
    if isinstance(scheduler, SequentialLR):
        changed = False
        for child, child_fresh in zip(scheduler._schedulers, fresh["_schedulers"], strict=True):
            changed = lengthen_schedule(child, child_fresh) or changed
        scheduler._last_lr = [group["lr"] for group in scheduler.optimizer.param_groups]
        return changed
    state = scheduler.state_dict()
    if isinstance(scheduler, CosineAnnealingLR) and fresh["T_max"] != state["T_max"]:
        scheduler.T_max = fresh["T_max"]
        if scheduler.last_epoch >= 0:  # started (not still behind a warm-up)
            for group, base_lr in zip(scheduler.optimizer.param_groups, scheduler.base_lrs, strict=True):
                progress = math.cos(math.pi * min(scheduler.last_epoch, scheduler.T_max) / scheduler.T_max)
                group["lr"] = scheduler.eta_min + (base_lr - scheduler.eta_min) * (1 + progress) / 2
            scheduler._last_lr = [group["lr"] for group in scheduler.optimizer.param_groups]
        return True
    differs = sorted(k for k in fresh if k not in PROGRESS_KEYS and fresh[k] != state.get(k))
    if differs:
        named = [k for k in differs if not k.startswith("_")] or differs  # total_steps, not _schedule_phases
        raise UserError(
            f"{type(scheduler).__name__}'s {', '.join(named)} {'depends' if len(named) == 1 else 'depend'} on "
            "--epochs, and cannot be recomputed on resume: resume with the checkpoint's --epochs, or start a new "
            "run (--name=...)"
        )
    return False
