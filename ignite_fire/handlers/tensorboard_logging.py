"""TensorBoard through Ignite's :class:`~ignite.handlers.tensorboard_logger.TensorboardLogger`.

The same scalars as the W&B run, under the same names and at the same step (the trainer's
iteration), and the run's pictures (the prediction gallery and the confusion matrix), read back
from the PNG files the run writes. Needs the ``tensorboard`` package (``pip install -e .[tensorboard]``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from ignite.engine import Engine
from ignite.handlers.tensorboard_logger import TensorboardLogger

from ignite_fire.errors import UserError
from ignite_fire.warn import warn_once


class TensorBoardScalars:
    """Writes ``values(engine)`` as scalars at the step engine's iteration; use with ``TensorboardLogger.attach``.

    Args:
        values: returns the ``{name: number}`` to write for an engine.
        step_engine: the engine whose ``state.iteration`` is the step (the trainer).

    Example::

        tb_logger.attach(evaluator, TensorBoardScalars(lambda e: e.state.metrics, trainer), Events.COMPLETED)
    """

    def __init__(self, values: Callable[[Engine], Mapping[str, Any]], step_engine: Engine) -> None:
        if not callable(values):
            raise TypeError("Argument values should be callable.")
        self.values = values
        self.step_engine = step_engine

    def __call__(self, engine: Engine, logger: TensorboardLogger, event_name: Any = None) -> None:
        step = self.step_engine.state.iteration
        for name, value in self.values(engine).items():
            logger.writer.add_scalar(name, float(value), step)
        logger.writer.flush()


class TensorBoardPictures:
    """Writes the run's new or rewritten pictures as TensorBoard images, at the step engine's iteration.

    ``gallery_epoch{N}.png`` goes under ``val_gallery`` (each file once) and ``confusion_matrix.png``
    under ``val_confusion_matrix`` (whenever it was redrawn, i.e. at a new best epoch).

    Args:
        run_dir: the folder the pictures are written to.
        step_engine: the engine whose ``state.iteration`` is the step (the trainer).

    Example::

        tb_logger.attach(trainer, TensorBoardPictures(run_dir, trainer), Events.EPOCH_COMPLETED)
    """

    def __init__(self, run_dir: str | Path, step_engine: Engine) -> None:
        self.run_dir = Path(run_dir)
        self.step_engine = step_engine
        self.logged: dict[str, int] = {}  # file name -> its mtime (ns) when logged

    def _new(self, path: Path) -> bool:
        return path.is_file() and self.logged.get(path.name) != path.stat().st_mtime_ns

    def __call__(self, engine: Engine, logger: TensorboardLogger, event_name: Any = None) -> None:
        from PIL import Image

        step = self.step_engine.state.iteration
        pictures = [("val_gallery", p) for p in sorted(self.run_dir.glob("gallery_epoch*.png"))]
        pictures.append(("val_confusion_matrix", self.run_dir / "confusion_matrix.png"))
        for tag, path in pictures:
            if not self._new(path):
                continue
            try:
                with Image.open(path) as image:
                    pixels = np.asarray(image.convert("RGB"))
            except OSError as error:  # being rewritten, or damaged: a picture never stops training
                warn_once(f"TensorBoard could not read {path.name}: {error}")
                continue
            logger.writer.add_image(tag, pixels, step, dataformats="HWC")
            self.logged[path.name] = path.stat().st_mtime_ns
        logger.writer.flush()


def start_tensorboard(log_dir: Path) -> TensorboardLogger:
    """A TensorboardLogger writing to ``log_dir``; a missing tensorboard package is a UserError."""
    try:
        return TensorboardLogger(log_dir=str(log_dir))
    except ModuleNotFoundError as error:
        raise UserError(
            "--loggers includes tensorboard, but the tensorboard package is missing: pip install -e '.[tensorboard]'"
        ) from error
