"""The pictures of a run, drawn with matplotlib (no pyplot, no display: safe in any process or thread).

* :func:`plot_gallery`: a grid of images, each with its true and predicted class and confidence
* :func:`plot_confusion_matrix`: counts and row-normalised, side by side
* :func:`plot_curves`: train/val loss, val accuracy and F1, learning rate against epoch

Every function writes a PNG atomically (a viewer refreshing the page never sees half a file).
Class names are drawn with the fonts of :mod:`ignite_fire.pictures.fonts`.

Example::

    fonts = label_fonts(classes)
    plot_confusion_matrix(confusion, classes, "run/confusion_matrix.png", fonts=fonts)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ignite_fire.files import atomic_path
from ignite_fire.pictures.fonts import DEFAULT_FAMILY, LabelFonts

CORRECT_COLOR = "#1a7f37"
WRONG_COLOR = "#cf222e"


def save_figure(figure: Figure, path: str | Path) -> Path:
    """Write ``figure`` as a PNG to ``path`` atomically (a viewer refreshing the page never sees half a file)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    return path


def to_uint8_image(image: Any) -> np.ndarray:
    """A (H, W, 3) uint8 array from a (3, H, W) / (1, H, W) float tensor in [0, 1] or an (H, W, C) array."""
    array = image.detach().cpu().float().numpy() if hasattr(image, "detach") else np.asarray(image)
    if array.ndim == 3 and array.shape[0] in (1, 3) and array.shape[-1] not in (1, 3):
        array = array.transpose(1, 2, 0)
    if array.ndim == 2:
        array = array[..., None]
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    if array.dtype != np.uint8:
        array = np.clip(np.rint(np.clip(array, 0.0, 1.0) * 255.0), 0, 255).astype(np.uint8)
    return array


@dataclass
class GalleryItem:
    """One picture of a gallery: a (H, W, 3) uint8 image and what the model made of it."""

    image: np.ndarray
    true: str
    pred: str
    confidence: float

    @property
    def correct(self) -> bool:
        return self.true == self.pred


def fit_tile(image: np.ndarray, tile: int) -> np.ndarray:
    """``image`` scaled (aspect kept) to fit a ``tile`` x ``tile`` square: small images by pixel repetition."""
    from PIL import Image

    height, width = image.shape[:2]
    scale = tile / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size == (width, height):
        return image
    resample = Image.Resampling.NEAREST if scale >= 1 else Image.Resampling.LANCZOS
    return np.asarray(Image.fromarray(image).resize(size, resample))


def plot_gallery(
    items: Sequence[GalleryItem],
    path: str | Path,
    title: str = "",
    fonts: LabelFonts | None = None,
    columns: int | None = None,
    tile: int = 160,
) -> Path:
    """A grid of ``items``, each captioned ``true: ...`` / ``pred: ... (confidence)``; wrong ones in red.

    The images are pasted into one picture pixel for pixel (scaled to ``tile`` pixels, small ones
    by repeating pixels, so nothing is blurred) and the captions are drawn on it: one figure
    without axes is much quicker to draw than a grid of subplots.
    """
    fonts = fonts or LabelFonts((DEFAULT_FAMILY,))
    dpi, pad, caption_height = 100, 10, 34
    title_height = 30 if title else 4
    count = max(1, len(items))
    columns = columns or min(count, max(1, math.ceil(math.sqrt(count))))
    rows = math.ceil(count / columns)
    width = columns * (tile + pad) + pad
    legend = fonts.legend_for(width // 6)  # no font for the class names: which class each #index is
    legend_height = 14 * (legend.count("\n") + 1) + 6 if legend else 0
    height = title_height + rows * (caption_height + tile + pad) + legend_height
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    for position, item in enumerate(items):
        row, column = divmod(position, columns)
        left = pad + column * (tile + pad)
        top = title_height + row * (caption_height + tile + pad) + caption_height
        image = fit_tile(to_uint8_image(item.image), tile)
        y0, x0 = top + (tile - image.shape[0]) // 2, left + (tile - image.shape[1]) // 2
        canvas[y0 : y0 + image.shape[0], x0 : x0 + image.shape[1]] = image
        figure.text(
            (left + tile / 2) / width,
            1 - (top - 3) / height,
            f"true: {item.true}\npred: {item.pred} ({item.confidence:.2f})",
            ha="center",
            va="bottom",
            fontsize=9,
            linespacing=1.3,
            fontfamily=fonts.family,
            color=CORRECT_COLOR if item.correct else WRONG_COLOR,
        )
    figure.figimage(canvas, 0, 0, origin="upper", resize=False)
    if legend:
        figure.text(pad / width, 3 / height, legend, ha="left", va="bottom", fontsize=8, linespacing=1.3)
    if title:
        figure.text(0.5, 1 - 6 / height, title, ha="center", va="top", fontsize=11, fontfamily=fonts.family)
    return save_figure(figure, path)


def plot_confusion_matrix(
    confusion: Any,
    labels: Sequence[str],
    path: str | Path,
    title: str = "",
    fonts: LabelFonts | None = None,
) -> Path:
    """Counts (left) and row-normalised recall per true class (right); rows are true classes."""
    fonts = fonts or LabelFonts((DEFAULT_FAMILY,))
    counts = np.asarray(confusion.cpu() if hasattr(confusion, "cpu") else confusion, dtype=np.float64)
    rows = counts.sum(axis=1, keepdims=True)
    normalised = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    n = len(labels)
    side = max(3.5, 0.55 * n + 2.0)
    figure = Figure(figsize=(2 * side + 1.0, side + 0.6), dpi=100)
    axes = figure.subplots(1, 2)
    annotate = n <= 30
    for axis, values, name, fmt in (
        (axes[0], counts, "counts", "{:.0f}"),
        (axes[1], normalised, "row-normalised", "{:.2f}"),
    ):
        image = axis.imshow(values, cmap="Blues", vmin=0, vmax=max(values.max(), 1e-12))
        figure.colorbar(image, ax=axis, fraction=0.046, pad=0.04)
        axis.set_title(name, fontsize=11)
        axis.set_xticks(range(n), labels, rotation=45, ha="right", fontfamily=fonts.family)
        axis.set_yticks(range(n), labels, fontfamily=fonts.family)
        axis.set_xlabel("predicted")
        axis.set_ylabel("true")
        if annotate:
            threshold = values.max() / 2 if values.max() > 0 else 1
            for i in range(n):
                for j in range(n):
                    axis.text(
                        j,
                        i,
                        fmt.format(values[i, j]),
                        ha="center",
                        va="center",
                        fontsize=8 if n > 10 else 10,
                        color="white" if values[i, j] > threshold else "black",
                    )
    if title:
        figure.suptitle(title, fontsize=12)
    legend = fonts.legend_for(int(figure.get_figwidth() * 100) // 6)
    if legend:  # no font for the class names: which class each #index is
        lines = legend.count("\n") + 1
        figure.text(0.01, 0.01, legend, ha="left", va="bottom", fontsize=8, linespacing=1.3)
        figure.tight_layout(rect=(0, (14 * lines + 8) / (figure.get_figheight() * 100), 1, 1))
    else:
        figure.tight_layout()
    return save_figure(figure, path)


def _series(history: Sequence[Mapping[str, Any]], key: str) -> tuple[list[float], list[float]]:
    points = [
        (float(r["epoch"]), float(r[key]))
        for r in history
        if isinstance(r.get(key), (int, float)) and math.isfinite(float(r[key]))
    ]
    return [p[0] for p in points], [p[1] for p in points]


def plot_curves(
    history: Sequence[Mapping[str, Any]],
    path: str | Path,
    best_epoch: int | None = None,
    title: str = "",
) -> Path:
    """Loss (train, val), val accuracy and F1, and learning rate against epoch, from ``history.json`` records."""
    figure = Figure(figsize=(15, 4.2), dpi=100)
    axes = figure.subplots(1, 3)
    panels = (
        (axes[0], "loss", (("train_loss", "train", "-"), ("val_loss", "val", "-"))),
        (
            axes[1],
            "accuracy and F1",
            (
                ("val_acc", "val accuracy", "-"),
                ("val_macro_f1", "val macro F1", "-"),
                ("train_acc", "train accuracy", ":"),
            ),
        ),
        (axes[2], "learning rate (end of epoch)", (("lr", "lr", "-"),)),
    )
    for axis, name, keys in panels:
        for key, label, style in keys:
            x, y = _series(history, key)
            if x:
                axis.plot(x, y, linestyle=style, marker="o", markersize=3, label=label)
        axis.set_title(name, fontsize=11)
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
        axis.xaxis.get_major_locator().set_params(integer=True)
    for axis in axes:
        if best_epoch is not None:
            axis.axvline(best_epoch, color="grey", linestyle="--", linewidth=1, label=f"best (epoch {best_epoch})")
    # The competition score is a sum of weight x F1 (up to the sum of the weights): it gets its own scale.
    handles = {axis: list(axis.get_legend_handles_labels()[0]) for axis in axes}
    x, y = _series(history, "val_score")
    if x:
        twin = axes[1].twinx()
        handles[axes[1]] += twin.plot(x, y, color="tab:purple", marker="s", markersize=3, label="val score (right)")
        twin.set_ylabel("score (sum of weight x F1)", fontsize=9)
    for axis in axes:
        if handles[axis]:
            axis.legend(handles=handles[axis], fontsize=8)
    _, lrs = _series(history, "lr")
    if lrs and min(lrs) > 0 and max(lrs) / min(lrs) > 20:
        axes[2].set_yscale("log")
    if title:
        figure.suptitle(title, fontsize=12)
    figure.subplots_adjust(left=0.05, right=0.97, bottom=0.13, top=0.84 if title else 0.9, wspace=0.32)
    return save_figure(figure, path)
