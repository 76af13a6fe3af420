"""The model's autograd graph, drawn by torchviz from one forward pass on a dummy batch.

:func:`export_graph` always writes the Graphviz source ``STEM.dot``; when the Graphviz ``dot``
program is installed (Debian/Ubuntu: ``apt-get install graphviz``) it also renders ``STEM.png``
and ``STEM.svg``. A missing or failing ``dot`` is a warning, never an error.

Training exports ``model_graph.*`` into the run directory at the start with :class:`GraphExport`
(``--graph=False`` turns it off); the ``graph`` command does it for any experiment without training::

    python -m ignite_fire graph experiments/resnet18_baseline.py --output=resnet18_graph
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ignite.engine import Engine, Events

from ignite_fire.files import atomic_path, write_text_atomic
from ignite_fire.loggers.wandb import Picture, RunLog
from ignite_fire.pictures.guard import guarded
from ignite_fire.warn import warn_once

if TYPE_CHECKING:
    import torch

RENDER_FORMATS = ("png", "svg")
DOT_TIMEOUT_S = 120.0


def _first_tensor(output: Any) -> torch.Tensor:
    import torch

    if isinstance(output, torch.Tensor):
        return output
    values = output.values() if isinstance(output, dict) else output if isinstance(output, (list, tuple)) else ()
    for value in values:
        if isinstance(value, torch.Tensor):
            return value
    raise TypeError(f"the model returned {type(output).__name__}, not a tensor: cannot draw its graph")


def model_graph(model: torch.nn.Module, example: torch.Tensor) -> Any:
    """The torchviz ``graphviz.Digraph`` of ``model(example)``, parameters named as in the model.

    The forward pass runs in eval mode (BatchNorm statistics are not touched) with gradients on,
    and the model's mode is restored afterwards.
    """
    import torch
    from torchviz import make_dot

    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            output = _first_tensor(model(example))
    finally:
        model.train(was_training)
    return make_dot(output, params=dict(model.named_parameters()))


def render_dot(dot_path: Path, formats: Sequence[str] = RENDER_FORMATS, timeout: float = DOT_TIMEOUT_S) -> list[Path]:
    """Render ``dot_path`` beside itself in each of ``formats`` with Graphviz ``dot``; problems only warn."""
    executable = shutil.which("dot")
    if executable is None:
        warn_once(
            "Graphviz `dot` is not installed: the model graph is only written as .dot source "
            "(install it with `apt-get install graphviz`, or open the .dot file in any Graphviz viewer)"
        )
        return []
    written = []
    for fmt in formats:
        target = dot_path.with_suffix(f".{fmt}")
        try:
            with atomic_path(target) as tmp:
                command = [executable, f"-T{fmt}", str(dot_path), "-o", str(tmp)]
                subprocess.run(command, check=True, capture_output=True, timeout=timeout)
            written.append(target)
        except subprocess.TimeoutExpired:
            warn_once(f"Graphviz `dot` took over {timeout:.0f} s to draw {target.name}; skipped")
        except (subprocess.CalledProcessError, OSError) as error:
            detail = getattr(error, "stderr", b"") or b""
            message = detail.decode(errors="replace").strip().splitlines()[-1:] or [str(error)]
            warn_once(f"Graphviz `dot` could not draw {target.name}: {message[0]}")
    return written


def export_graph(
    model: torch.nn.Module,
    example: torch.Tensor,
    stem: str | Path,
    formats: Sequence[str] = RENDER_FORMATS,
) -> list[Path]:
    """Write ``STEM.dot`` (always) and ``STEM.png``/``STEM.svg`` (when ``dot`` is installed); returns the paths.

    ``example`` is one input batch (e.g. ``torch.zeros(1, 3, 224, 224)``) on the model's device.

    Example::

        export_graph(model, torch.zeros(1, 3, 224, 224), "runs/exp/model_graph")
    """
    stem = Path(stem)
    if stem.suffix in (".dot", ".png", ".svg", ".gv"):
        stem = stem.with_suffix("")
    digraph = model_graph(model, example)
    dot_path = stem.parent / f"{stem.name}.dot"
    write_text_atomic(dot_path, digraph.source)
    return [dot_path, *render_dot(dot_path, formats)]


def example_batch(model: torch.nn.Module, shape: Sequence[int]) -> torch.Tensor:
    """A batch of one zero image of ``shape`` (C, H, W) on the device and dtype of ``model``'s parameters."""
    import torch

    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    dtype = parameter.dtype if parameter is not None and parameter.is_floating_point() else torch.float32
    return torch.zeros(1, *shape, device=device, dtype=dtype)


class GraphExport:
    """Writes the model graph (``{output_dir}/model_graph.dot``, ``.png``, ``.svg``) when training starts.

    With a ``log`` (the W&B run), the PNG is also logged as the image ``model_graph`` at the trainer's iteration.

    Args:
        model: the model to draw.
        image_shape: (C, H, W) of one input image; the graph is traced on a batch of one zero image.
        output_dir: where the ``model_graph.*`` files go.
        log: the run's :class:`~ignite_fire.loggers.wandb.RunLog` (W&B), or None.

    Example::

        GraphExport(model, (3, 224, 224), run_dir).attach(trainer)
    """

    stem = "model_graph"

    def __init__(
        self,
        model: torch.nn.Module,
        image_shape: Sequence[int],
        output_dir: str | Path,
        log: RunLog | None = None,
    ) -> None:
        if len(image_shape) != 3 or any(not isinstance(s, int) or s < 1 for s in image_shape):
            raise ValueError(f"Argument image_shape should be three positive integers (C, H, W), got {image_shape}")
        self.model = model
        self.image_shape = tuple(image_shape)
        self.output_dir = Path(output_dir)
        self.log = log

    def attach(self, trainer: Engine) -> None:
        """Export when ``trainer`` starts; a failure only warns (:func:`guarded`)."""
        trainer.add_event_handler(Events.STARTED, guarded("the model graph", self))

    def __call__(self, engine: Engine) -> list[Path]:
        paths = export_graph(self.model, example_batch(self.model, self.image_shape), self.output_dir / self.stem)
        png = self.output_dir / f"{self.stem}.png"
        if self.log is not None and png in paths:
            self.log.log_images({"model_graph": Picture(png)}, engine.state.iteration)
        return paths
