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
from ignite_fire.files import atomic_path
from ignite_fire.inference.predict import (
    PredictDataset,
    collate_predictions,
    find_checkpoint,
    list_images,
    load_predictor,
)
from ignite_fire.pictures.gallery import normalization_of
from ignite_fire.pictures.gradcam import GradCam

logger = logging.getLogger("ignite_fire")


def explain(
    checkpoint: str,
    *,
    input: str | None = None,  # named for the command-line flag --input
    output: str = "gradcam",
    target: str | None = None,
    layer: str | None = None,
    batch_size: int = 16,
    device: str = "auto",
) -> dict[str, Any]:
    """Write a Grad-CAM overlay of CHECKPOINT's prediction for every image in --input.

    Args:
        checkpoint: a checkpoint file, or a run directory (its best checkpoint).
        input: the folder of images (searched recursively).
        output: the folder the overlays go to (``{output}/{name}.png``).
        target: a class name: explain this class instead of the predicted one.
        layer: the module to explain (a name from ``model.named_modules()``); default: the last conv block.
    """
    from ignite_fire.devices import resolve_device
    from ignite_fire.performance import configure_threads

    if input is None:
        raise UserError("explain needs --input=DIR (the images to explain)")
    root = Path(str(input)).expanduser()
    if not root.is_dir():
        raise UserError(f"--input folder not found: {root}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise UserError(f"--batch_size must be a positive integer, got {batch_size!r}")
    configure_threads(None, 0)  # its DataLoader has no workers
    predictor = load_predictor(find_checkpoint(checkpoint), resolve_device(str(device)))
    if target is not None and str(target) not in predictor.classes:
        raise UserError(f"--target={target!r} is not a class of {predictor.path}: choose one of {predictor.classes}")
    names = list_images(root, None)
    dataset = PredictDataset(root, names, predictor.transform, skip_bad=False, draft_size=predictor.draft_size)
    mean, std = normalization_of(dataset)
    cam = GradCam(predictor.model, tuple(dataset[0][1].shape), mean, std, layer=None if layer is None else str(layer))
    out_dir = Path(str(output)).expanduser()
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
            with atomic_path(path) as tmp:
                Image.fromarray(overlay).save(tmp, format="PNG")
            written.append(str(path))
            logger.info(f"{names[index]}: {predictor.classes[pred]} ({float(row[pred]):.2f}) -> {path}")
    logger.info(f"wrote {len(written)} Grad-CAM overlays to {out_dir}")
    return {"layer": cam.layer_name, "files": written}
