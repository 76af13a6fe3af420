"""The ``graph`` command: an experiment's model graph, drawn without training."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ignite_fire.errors import UserError

if TYPE_CHECKING:
    from ignite_fire.config import Data

logger = logging.getLogger("ignite_fire")


def _num_classes(data: Data) -> int:
    if data.classes:
        return len(data.classes)
    from ignite_fire.data.sources import load_labelled_images

    try:
        return len(load_labelled_images(data).classes)
    except UserError as error:
        raise UserError(f"cannot tell the number of classes: {error}; or pass --num_classes=N") from error


def check_graph_outputs(stem: Path, experiment: Path, data_dir: str) -> None:
    """STEM.dot/.png/.svg are neither the experiment file nor inside the data folder (nothing read is overwritten)."""
    from ignite_fire.files import check_outputs
    from ignite_fire.pictures.model_graph import RENDER_FORMATS

    base = stem.with_suffix("") if stem.suffix in (".dot", ".png", ".svg", ".gv") else stem
    inputs = {"EXPERIMENT": experiment}
    if data_dir:
        inputs["--data_dir"] = Path(data_dir).expanduser()
    for suffix in ("dot", *RENDER_FORMATS):  # the files export_graph writes
        check_outputs({"--output": base.parent / f"{base.name}.{suffix}"}, inputs)


def graph(experiment: str, output: str | None = None, num_classes: int | None = None, **overrides: Any) -> None:
    """Draw EXPERIMENT's model graph (torchviz): OUTPUT.dot, plus OUTPUT.png/.svg when Graphviz is installed.

    OUTPUT defaults to {output_dir}/graphs/EXPERIMENT_NAME_graph (output_dir is the config's, "runs" by
    default). The number of classes comes from --num_classes, the config's classes, or the images of
    --data_dir (class folders or a label file). The model is built without pretrained weights (the graph
    is the same).
    """
    from ignite_fire.experiment import load_experiment
    from ignite_fire.models import build_model
    from ignite_fire.pictures.model_graph import example_batch, export_graph

    loaded = load_experiment(experiment, overrides)
    config = {**loaded.config, "pretrained": False}
    positive = isinstance(num_classes, int) and not isinstance(num_classes, bool) and num_classes >= 1
    if num_classes is not None and not positive:
        raise UserError(f"--num_classes={num_classes!r} must be a positive integer")
    settings = loaded.settings
    classes = num_classes or _num_classes(settings.data)
    model = loaded.factory("build_model", build_model)(config, classes)
    size = settings.data.image_size
    stem = Path(output) if output else Path(settings.bookkeeping.output_dir) / "graphs" / f"{loaded.name}_graph"
    check_graph_outputs(stem, Path(experiment), settings.data.data_dir)
    from ignite_fire.files import output_folder

    try:
        with output_folder(stem.parent):  # a failed write leaves no empty folder behind
            paths = export_graph(model, example_batch(model, (3, size, size)), stem)
    except OSError as error:
        raise UserError(f"cannot write the graph to {stem}.dot ({error.strerror}): pass --output=PATH") from error
    except (RuntimeError, TypeError, ValueError) as error:
        raise UserError(
            f"the model of {experiment} failed on a dummy batch of shape (1, 3, {size}, {size}): {error}"
        ) from error
    for path in paths:
        logger.info(f"wrote {path}")
