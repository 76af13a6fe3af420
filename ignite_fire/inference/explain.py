"""The ``explain`` command: Grad-CAM overlays of a checkpoint's predictions, for any folder of images.

    python -m ignite_fire explain runs/NAME --input=photos [--output=gradcam] [--target=CLASS] [--layer=NAME]

Each image goes through the run's eval transform; ``{output}/{name}.png`` (the image's path under
``--input``, with ``.png``) shows it with the heat map of the predicted class (or of ``--target``)
over it. The target layer is the model's last conv block (see :mod:`ignite_fire.pictures.gradcam`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch.utils.data import DataLoader

from ignite_fire.errors import UserError
from ignite_fire.experiment import Experiment
from ignite_fire.files import atomic_path, check_outputs
from ignite_fire.inference.predict import (
    PredictDataset,
    check_writable,
    collate_predictions,
    find_checkpoint,
    list_images,
    load_predictor,
    named_experiment,
)
from ignite_fire.pictures.gallery import normalization_of
from ignite_fire.pictures.gradcam import GradCam, feature_maps

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
    written = []
    for indices, images, _ in DataLoader(dataset, batch_size=batch_size, collate_fn=collate_predictions):
        images = images.to(next(predictor.model.parameters()).device)
        with torch.no_grad():
            probabilities = torch.softmax(predictor.model(images).float(), dim=1).cpu()
        predicted = probabilities.argmax(dim=1).tolist()
        classes = [predictor.classes.index(str(target))] * len(predicted) if target is not None else predicted
        overlays = cam.overlays(images, classes)
        for index, overlay, pred, row in zip(indices.tolist(), overlays, predicted, probabilities, strict=True):
            path = (out_dir / names[index]).with_suffix(".png")
            try:
                with atomic_path(path) as tmp:
                    Image.fromarray(overlay).save(tmp, format="PNG")
            except OSError as error:  # found only when writing (a folder made read-only meanwhile)
                reason = error.strerror or error
                raise UserError(f"cannot write {path} ({reason}): pass --output=DIR elsewhere") from error
            written.append(str(path))
            logger.info(f"{names[index]}: {predictor.classes[pred]} ({float(row[pred]):.2f}) -> {path}")
    logger.info(f"wrote {len(written)} Grad-CAM overlays to {out_dir}")
    return {"layer": cam.layer_name, "files": written}
