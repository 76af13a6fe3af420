"""``train_batch.png``: the first augmented training batch, as the model sees it (Ultralytics draws one).

The images are denormalised (with the run's own mean and std, as the gallery's)
and each is captioned with its class; the title names the augmentation settings. Drawn once per
run, at the first iteration this process trains (a resumed run draws its first batch again).
A picture that fails to draw is a warning, as with every other picture.

Example::

    TrainBatchPicture(run_dir / "train_batch.png", classes, title="augment=trivialaugment").attach(trainer)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from ignite.engine import Engine, Events
from matplotlib.figure import Figure

from ignite_fire.config import Augmentation
from ignite_fire.data.transforms import IMAGENET_MEAN, IMAGENET_STD, denormalize
from ignite_fire.loggers.wandb import Picture, RunLog
from ignite_fire.pictures.drawing import fit_tile, save_figure, to_uint8_image
from ignite_fire.pictures.fonts import display_label, label_fonts
from ignite_fire.pictures.guard import guarded

AUGMENT_KEYS = ("augment", "augment_magnitude", "random_erasing", "color_jitter", "mixup_alpha", "cutmix_alpha")


def plot_batch(
    images: torch.Tensor,
    labels: Sequence[int],
    classes: Sequence[str],
    path: Path,
    title: str,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> Path:
    """A grid of normalised ``images`` (B, 3, H, W), each captioned with its class name."""
    fonts = label_fonts(list(classes))
    tile, pad, caption, dpi = 128, 8, 18, 100
    count = max(1, len(images))
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    width, top = columns * (tile + pad) + pad, 30
    height = top + rows * (tile + caption + pad)
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    pictures = denormalize(images.detach().float().cpu(), mean, std)
    for position, (image, label) in enumerate(zip(pictures, labels, strict=True)):
        row, column = divmod(position, columns)
        left, y = pad + column * (tile + pad), top + row * (tile + caption + pad) + caption
        array = fit_tile(to_uint8_image(image), tile)
        canvas[y : y + array.shape[0], left : left + array.shape[1]] = array
        name = display_label(classes[label], label, fonts) if 0 <= label < len(classes) else str(label)
        figure.text(
            (left + tile / 2) / width,
            1 - (y - 2) / height,
            name,
            ha="center",
            va="bottom",
            fontsize=8,
            fontfamily=fonts.family,
        )
    figure.figimage(canvas, 0, 0, origin="upper", resize=False)
    figure.text(0.5, 1 - 6 / height, title, ha="center", va="top", fontsize=9, fontfamily=fonts.family)
    return save_figure(figure, path)


def augment_title(keys: Augmentation) -> str:
    """``first training batch: augment=..., random_erasing=...`` with the augmentation keys that are set."""
    values = [(k, getattr(keys, k)) for k in AUGMENT_KEYS]
    parts = [f"{k}={value}" for k, value in values if value not in (None, 0, 0.0, "none")]
    return "first training batch" + (": " + ", ".join(parts) if parts else " (crop and flip only)")


class TrainBatchPicture:
    """Draw the first batch ``engine`` trains on to ``path`` (once).

    Args:
        path: the PNG to write.
        classes: class names, by index.
        title: the picture's title.
        size: at most this many images are drawn.
        log: the run's :class:`~ignite_fire.loggers.wandb.RunLog` (W&B): the picture is also logged as ``train_batch``.
        mean, std: the normalisation of the images, undone for display.
    """

    def __init__(
        self,
        path: str | Path,
        classes: Sequence[str],
        title: str = "",
        size: int = 16,
        log: RunLog | None = None,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
    ) -> None:
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size}")
        self.path = Path(path)
        self.classes = list(classes)
        self.title = title
        self.size = size
        self.log = log
        self.mean, self.std = tuple(mean), tuple(std)
        self.done = False

    def __call__(self, engine: Engine) -> None:
        if self.done:
            return
        self.done = True
        images, labels = engine.state.batch[0], engine.state.batch[1]
        if not isinstance(images, torch.Tensor) or images.dim() != 4:
            return
        labels = [int(i) for i in labels[: self.size]]
        plot_batch(images[: self.size], labels, self.classes, self.path, self.title, self.mean, self.std)
        if self.log is not None:
            self.log.log_images({"train_batch": Picture(self.path, self.title)}, engine.state.iteration)

    def attach(self, engine: Engine) -> None:
        """Draw at the first iteration; a failure only warns (:func:`~ignite_fire.pictures.guard.guarded`)."""
        engine.add_event_handler(Events.ITERATION_STARTED, guarded("train_batch.png", self))
