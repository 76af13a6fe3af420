"""The ``explain`` command: Grad-CAM overlays of a checkpoint's predictions, for any folder of images.

    python -m ignite_fire explain runs/NAME --input=photos [--output=gradcam] [--target=CLASS] [--layer=NAME]

Each image goes through the run's eval transform; ``{output}/{name}.png`` (the image's path under
``--input``, with ``.png``) shows the original image (its long side scaled into 384..1024 px) with the
heat map of the predicted class (or of ``--target``) over the region the model saw (outlined when the
eval transform crops), under a caption: the predicted class and probability, and the true class when
the image's folder is named after one. ``{output}/index.html`` shows each original beside its overlay.
The target layer is the model's last conv block (see :mod:`ignite_fire.pictures.gradcam`).
"""

from __future__ import annotations

import html
import logging
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import torch
from PIL import Image
from torch.utils.data import DataLoader

from ignite_fire.data.images import load_image
from ignite_fire.errors import UserError
from ignite_fire.experiment import Experiment
from ignite_fire.files import atomic_path, check_outputs, output_folder, write_text_atomic
from ignite_fire.handlers.progress_log import LoopProgress
from ignite_fire.inference.predict import (
    PredictDataset,
    check_writable,
    collate_predictions,
    find_checkpoint,
    list_images,
    load_predictor,
    named_experiment,
)
from ignite_fire.pictures.fonts import LabelFonts, display_label, label_fonts
from ignite_fire.pictures.gallery import normalization_of
from ignite_fire.pictures.gradcam import GradCam, captioned, feature_maps, heat_over, view_box

logger = logging.getLogger("ignite_fire")


def check_layer(model: torch.nn.Module, layer: str, image_shape: tuple[int, ...]) -> None:
    """``--layer`` names a module with an (N, C, H, W) output: Grad-CAM needs a spatial map, not a Linear's (N, C)."""
    names = dict(model.named_modules())
    if layer not in names:
        return  # GradCam says "is not a module of ..." in one line
    maps = [name for name, _, _ in feature_maps(model, image_shape)]
    if layer not in maps:
        shown = ", ".join(maps[-3:]) or "none"
        raise UserError(
            f"--layer={layer!r} is a {type(names[layer]).__name__} without an (N, C, H, W) output: Grad-CAM needs "
            f"a conv layer; pick one of the last conv layers ({shown}), or leave --layer out"
        )


def explain(
    checkpoint: str,
    *,
    input: str | None = None,  # named for the command-line flag --input
    output: str = "gradcam",
    target: str | None = None,
    layer: str | None = None,
    batch_size: int = 16,
    device: str = "auto",
    experiment: str | Experiment | None = None,
) -> dict[str, Any]:
    """Write a Grad-CAM overlay of CHECKPOINT's prediction for every image in --input.

    Args:
        checkpoint: a checkpoint file, or a run directory (its best checkpoint).
        input: the folder of images (searched recursively).
        output: the folder the overlays go to (``{output}/{name}.png``).
        target: a class name: explain this class instead of the predicted one.
        layer: the module to explain (a name from ``model.named_modules()``); default: the last conv block.
        batch_size: images per batch.
        device: "auto", "cpu", "cuda", "cuda:1", ...
        experiment: the experiment .py file whose own build_model/build_transforms rebuild the model.
    """
    from ignite_fire.devices import resolve_device
    from ignite_fire.performance import configure_threads

    root, checkpoint_path, out_dir = checked_paths(checkpoint, input, output, batch_size)
    configure_threads(None, 0)  # its DataLoader has no workers
    predictor = load_predictor(checkpoint_path, resolve_device(str(device)), named_experiment(experiment))
    if target is not None and str(target) not in predictor.classes:
        raise UserError(f"--target={target!r} is not a class of {predictor.path}: choose one of {predictor.classes}")
    names = list_images(root, None)
    dataset = PredictDataset(root, names, predictor.transform, skip_bad=False, draft_size=predictor.draft_size)
    mean, std = normalization_of(dataset)
    shape = tuple(dataset[0][1].shape)  # type: ignore[union-attr]  # skip_bad=False: an image, or it raised
    if layer is not None:
        check_layer(predictor.model, str(layer), shape)
    cam = GradCam(predictor.model, shape, mean, std, layer=None if layer is None else str(layer))
    logger.info(f"explain: {len(names)} images in {root} with {predictor.path.name}, Grad-CAM of {cam.layer_name}")
    written: list[str] = []
    rows: list[Explained] = []
    fonts = label_fonts(predictor.classes)
    with output_folder(out_dir):  # a failed first write leaves no empty folder
        loader = DataLoader(dataset, batch_size=batch_size, collate_fn=collate_predictions)
        progress = LoopProgress(len(loader), prefix="explain: ")
        for indices, images, _ in loader:
            images = images.to(next(predictor.model.parameters()).device)
            with torch.no_grad():
                probabilities = torch.softmax(predictor.model(images).float(), dim=1).cpu()
            predicted = probabilities.argmax(dim=1).tolist()
            classes = [predictor.classes.index(str(target))] * len(predicted) if target is not None else predicted
            heatmaps = cam.heatmaps(images, classes)
            for index, heatmap, pred, row in zip(indices.tolist(), heatmaps, predicted, probabilities, strict=True):
                true = true_class(names[index], predictor.classes)
                explained = Explained(names[index], predictor.classes[pred], float(row[pred]), true)
                path = (out_dir / names[index]).with_suffix(".png")
                original = load_image(root / names[index])
                picture = heat_over(original, heatmap, view_box(predictor.transform, original.size), cam.image_weight)
                write_overlay(path, captioned(picture, explained.caption(predictor.classes, fonts), fonts.family))
                written.append(str(path))
                rows.append(explained)
                logger.info(f"{names[index]}: {explained.predicted} ({explained.probability:.2f}) -> {path}")
            progress.update(len(indices))
        index_path = out_dir / "index.html"
        write_text_atomic(index_path, explain_html(rows, root, out_dir, cam.layer_name))
    logger.info(f"wrote {len(written)} Grad-CAM overlays to {out_dir} (side by side with the originals: {index_path})")
    return {"layer": cam.layer_name, "files": written, "index": str(index_path)}


def checked_paths(checkpoint: str, input: str | None, output: str, batch_size: int) -> tuple[Path, Path, Path]:
    """(--input folder, checkpoint file, --output folder), each checked in one line before a model is loaded."""
    if input is None:
        raise UserError("explain needs --input=DIR (the images to explain)")
    root = Path(str(input)).expanduser()
    if not root.is_dir():
        raise UserError(f"--input folder not found: {root}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise UserError(f"--batch_size must be a positive integer, got {batch_size!r}")
    checkpoint_path = find_checkpoint(checkpoint)
    out_dir = Path(str(output)).expanduser()
    check_outputs({"--output": out_dir}, {"CHECKPOINT": checkpoint_path, "--input": root})
    check_writable(out_dir, folder=True)
    return root, checkpoint_path, out_dir


def write_overlay(path: Path, picture: Any) -> None:
    """One overlay PNG, written whole (a class subfolder made for it is removed again if the write fails)."""
    try:
        with output_folder(path.parent), atomic_path(path) as tmp:
            Image.fromarray(picture).save(tmp, format="PNG")
    except OSError as error:  # found only when writing (a folder made read-only meanwhile)
        reason = error.strerror or error
        raise UserError(f"cannot write {path} ({reason}): pass --output=DIR elsewhere") from error


@dataclass(frozen=True)
class Explained:
    """One explained image: its name under --input, the predicted class and probability, the true class if known."""

    name: str
    predicted: str
    probability: float
    true: str | None

    def caption(self, classes: list[str], fonts: LabelFonts) -> str:
        def label(name: str) -> str:
            return display_label(name, classes.index(name), fonts)

        text = f"pred {label(self.predicted)} {self.probability:.2f}"
        if self.true is not None:
            text += f"   true {label(self.true)}" + ("" if self.true == self.predicted else "  (wrong)")
        return text


def true_class(name: str, classes: list[str]) -> str | None:
    """The class an image is known to be: its folder's name under --input, when that is a class (ImageFolder)."""
    parent = PurePosixPath(name).parent.name
    return parent if parent in classes else None


def explain_html(rows: list[Explained], root: Path, out_dir: Path, layer: str) -> str:
    """index.html: each original beside its overlay, with the caption (paths relative to ``out_dir``)."""
    def src(path: Path) -> str:
        return html.escape(Path(os.path.relpath(path.resolve(), out_dir.resolve())).as_posix(), quote=True)

    body = "\n".join(
        f"<tr><td><img src=\"{src(root / row.name)}\"></td>"
        f"<td><img src=\"{src((out_dir / row.name).with_suffix('.png'))}\"></td>"
        f"<td>{html.escape(row.name)}<br>predicted <b>{html.escape(row.predicted)}</b> {row.probability:.2f}"
        + (f"<br>true {html.escape(row.true)}" if row.true is not None else "")
        + "</td></tr>"
        for row in rows
    )
    return (
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Grad-CAM</title><style>"
        "body{font-family:sans-serif} td{vertical-align:top;padding:4px} img{max-width:480px;max-height:480px}"
        f"</style></head><body><h1>Grad-CAM of {html.escape(layer)}</h1>\n"
        f"<table><tr><th>original</th><th>Grad-CAM</th><th></th></tr>\n{body}\n</table></body></html>\n"
    )
