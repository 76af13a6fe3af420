"""timm backbones: ``--model=timm/NAME`` builds ``timm.create_model(NAME)`` with a ``num_classes`` head.

Any name of ``timm.list_models()`` works, with or without a pretrained tag
(``timm/convnext_tiny.fb_in22k``, ``timm/efficientnetv2_rw_s``, ``timm/resnet10t``). ImageNet weights
(``pretrained=True``) are read offline: from the Hugging Face cache (``$HF_HUB_CACHE``, by default
``~/.cache/huggingface/hub``) for weights hosted on the Hub, else from the torch hub cache. Nothing is
downloaded unless ``IGNITE_FIRE_DOWNLOAD_WEIGHTS=1`` is set; a missing file is a one-line error that
names what to fetch and where to put it.

Example::

    model = build_timm_model("timm/convnext_atto", num_classes=5, pretrained=False, drop_path_rate=0.1)
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ignite_fire.choices import IMAGENET_MEAN
from ignite_fire.errors import UserError

logger = logging.getLogger("ignite_fire")

TIMM_PREFIX = "timm/"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def is_timm_name(name: str) -> bool:
    return str(name).startswith(TIMM_PREFIX)


def timm_architecture(name: str) -> str:
    """``timm/convnext_tiny.fb_in22k`` -> ``convnext_tiny.fb_in22k`` (checked against timm's model list)."""
    import difflib

    import timm

    bare = name[len(TIMM_PREFIX) :] if is_timm_name(name) else name
    if not timm.is_model(bare.split(".")[0]):
        close = difflib.get_close_matches(bare.split(".")[0], timm.list_models(), n=3, cutoff=0.5)
        examples = (
            ", ".join(f"timm/{c}" for c in close) or "timm/convnext_tiny, timm/resnet50, timm/efficientnetv2_rw_s"
        )
        raise UserError(f"unknown timm model {bare!r}: try {examples} (any name of timm.list_models())")
    return bare


def cached_weights_file(architecture: str) -> Path:
    """The local file holding the pretrained weights of ``architecture`` (a timm name, optionally tagged)."""
    import huggingface_hub
    import timm

    config = timm.models.get_pretrained_cfg(architecture, allow_unregistered=False)
    if config is None:
        raise UserError(f"timm model {architecture} has no pretrained weights; pass --pretrained=False")
    repo_id = config.hf_hub_id
    if repo_id:
        for filename in (config.hf_hub_filename, *WEIGHT_FILES) if config.hf_hub_filename else WEIGHT_FILES:
            found = huggingface_hub.try_to_load_from_cache(repo_id, filename)
            if isinstance(found, str):
                return Path(found)
        cache = huggingface_hub.constants.HF_HUB_CACHE
        raise UserError(
            f"pretrained weights for timm/{architecture} are not cached: fetch them with "
            f"`huggingface-cli download {repo_id} model.safetensors` into {cache} (on a machine online, then copy "
            f"that folder), set IGNITE_FIRE_DOWNLOAD_WEIGHTS=1, or pass --pretrained=False"
        )
    url = config.url if isinstance(config.url, str) else ""  # (timm also allows a (url, file) pair; its cfgs do not)
    path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)
    if not url or not path.is_file():
        raise UserError(
            f"pretrained weights for timm/{architecture} are not cached: put {os.path.basename(url) or 'the file'} "
            f"(from {url or 'timm'}) in {path.parent}, set IGNITE_FIRE_DOWNLOAD_WEIGHTS=1, or pass --pretrained=False"
        )
    return path


def build_timm_model(
    name: str,
    num_classes: int,
    pretrained: bool = False,
    drop_rate: float | None = None,
    drop_path_rate: float | None = None,
) -> nn.Module:
    """timm model ``name`` (``timm/ARCH[.TAG]``) with a ``num_classes`` head; ImageNet weights if ``pretrained``."""
    import timm

    architecture = timm_architecture(name)
    options: dict[str, Any] = {"num_classes": num_classes}
    if drop_rate is not None:
        options["drop_rate"] = float(drop_rate)
    if drop_path_rate is not None:
        options["drop_path_rate"] = float(drop_path_rate)
    if pretrained and os.environ.get("IGNITE_FIRE_DOWNLOAD_WEIGHTS") != "1":
        options["pretrained_cfg_overlay"] = {"file": str(cached_weights_file(architecture))}
    try:
        model = timm.create_model(architecture, pretrained=bool(pretrained), **options)
    except TypeError as error:
        raise UserError(
            f"timm model {architecture} does not take these options ({error}): leave --drop_rate/--drop_path_rate unset"
        ) from error
    mean = tuple(round(float(m), 3) for m in model.pretrained_cfg.get("mean", IMAGENET_MEAN))  # type: ignore[union-attr, operator]  # a dict timm sets
    if pretrained and mean != tuple(round(m, 3) for m in IMAGENET_MEAN):
        logger.warning(
            f"timm/{architecture} was pretrained with mean {mean}, but the data are normalised with the ImageNet "
            "mean and std: fine-tuning adapts, or define build_transforms in the experiment"
        )
    return model
