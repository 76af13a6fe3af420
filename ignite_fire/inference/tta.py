"""Test-time augmentation: average the softmax over flipped, rescaled and cropped views of a batch.

Modes (any combination, e.g. ``"hflip,scales"``):

* ``hflip``: the image and its mirror image;
* ``scales``: the batch resized to each of ``scales`` times its size (the model must accept other
  sizes: CNNs and most timm models do; ViTs with a fixed input size do not);
* ``five_crop``: the four corner crops and the centre crop of side ``EVAL_CROP`` (0.875) x the image size,
  each resized back to the image size.

Views combine as a product: ``hflip,scales`` with three scales is 6 views, all three modes 30.
Used by ``predict --tta=...``, by validation with the ``tta`` config key (:class:`TTAModel`) and by
out-of-fold predictions.

Example::

    probabilities = tta_probabilities(model, images, ("hflip", "scales"), (0.875, 1.0, 1.125))
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ignite_fire.choices import EVAL_CROP
from ignite_fire.errors import UserError

MODES = ("hflip", "scales", "five_crop")
DEFAULT_SCALES = (0.875, 1.0, 1.125)
MIN_SCALE, MAX_SCALE = 0.25, 4.0  # a quarter of the image size still leaves a CNN a feature map; 4x is 16x the work


def parse_modes(spec: Any) -> tuple[str, ...]:
    """``"hflip,scales"`` (or a list, as python-fire passes ``--tta=hflip,scales``) -> ``("hflip", "scales")``."""
    if spec in (None, "", "none", "None", False):
        return ()
    parts = spec.split(",") if isinstance(spec, str) else [str(p) for p in spec]
    modes = tuple(dict.fromkeys(p.strip() for p in parts if p.strip()))
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise UserError(f"--tta={spec!r}: unknown mode {unknown[0]!r}; use any of {', '.join(MODES)}, comma-separated")
    return modes


def check_scales(scales: Sequence[float]) -> tuple[float, ...]:
    """The scales as floats in [MIN_SCALE, MAX_SCALE]: a 0.01 view of a 224 px image is 2 px, which no CNN takes."""
    try:
        values = tuple(float(s) for s in scales)
    except (TypeError, ValueError):
        values = ()
    if not values or any(not MIN_SCALE <= s <= MAX_SCALE for s in values):
        raise UserError(
            f"--tta_scales must be numbers from {MIN_SCALE} to {MAX_SCALE}, e.g. [0.875, 1.0, 1.125], got {scales!r}"
        )
    return values


def resize(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(images.shape[-2:]) == size:
        return images
    return F.interpolate(images, size=size, mode="bilinear", antialias=True, align_corners=False)


def five_crops(images: torch.Tensor) -> Iterator[torch.Tensor]:
    """The corner and centre crops of side ``EVAL_CROP`` (0.875) x (H, W), resized back to (H, W)."""
    height, width = images.shape[-2:]
    h, w = max(1, round(height * EVAL_CROP)), max(1, round(width * EVAL_CROP))
    top, left = (height - h) // 2, (width - w) // 2
    for y, x in ((0, 0), (0, width - w), (height - h, 0), (height - h, width - w), (top, left)):
        yield resize(images[..., y : y + h, x : x + w], (height, width))


def tta_views(
    images: torch.Tensor, modes: Sequence[str], scales: Sequence[float] = DEFAULT_SCALES
) -> Iterator[torch.Tensor]:
    """Every view of ``images`` (B, C, H, W) for ``modes``: the product of scales x crops x flips."""
    height, width = images.shape[-2:]
    for scale in scales if "scales" in modes else (1.0,):
        scaled = resize(images, (max(1, round(height * scale)), max(1, round(width * scale))))
        for crop in five_crops(scaled) if "five_crop" in modes else (scaled,):
            yield crop
            if "hflip" in modes:
                yield torch.flip(crop, dims=[3])


def tta_probabilities(
    model: nn.Module, images: torch.Tensor, modes: Sequence[str] | str | None, scales: Sequence[float] = DEFAULT_SCALES
) -> torch.Tensor:
    """Softmax probabilities (B, classes), float32 on the images' device, averaged over the TTA views.

    Runs under whatever autocast/inference mode the caller set; ``modes`` as for :func:`parse_modes`.
    """
    modes = parse_modes(modes) if not isinstance(modes, tuple) else modes
    scales = check_scales(scales)
    total: torch.Tensor | None = None
    count = 0
    for view in tta_views(images, modes, scales):
        if images.is_contiguous(memory_format=torch.channels_last):
            view = view.contiguous(memory_format=torch.channels_last)
        probabilities = torch.softmax(model(view).float(), dim=1)
        total = probabilities if total is None else total + probabilities
        count += 1
    assert total is not None
    return total / count


class TTAModel(nn.Module):
    """``model`` under TTA, for validation: returns the log of the averaged probabilities.

    Losses and metrics that take logits work on it unchanged (softmax of log-probabilities gives
    the probabilities back; cross-entropy of them is the NLL of the averaged prediction).

    Example::

        evaluator = create_evaluator(TTAModel(model, ("hflip",)), device)
    """

    def __init__(self, model: nn.Module, modes: Sequence[str], scales: Sequence[float] = DEFAULT_SCALES) -> None:
        super().__init__()
        self.model = model
        self.modes = parse_modes(list(modes))
        self.scales = check_scales(scales)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.log(tta_probabilities(self.model, images, self.modes, self.scales).clamp_min(1e-12))
