"""The prediction gallery handler: class examples and confident mistakes, in their original colours."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from ignite.engine import Engine, Events

from ignite_fire.data.transforms import IMAGENET_MEAN, IMAGENET_STD, denormalize
from ignite_fire.loggers.wandb import Picture, RunLog
from ignite_fire.pictures.drawing import GalleryItem, plot_gallery, to_uint8_image
from ignite_fire.pictures.fonts import LabelFonts, display_label, label_fonts
from ignite_fire.pictures.guard import guarded
from ignite_fire.warn import warn_once

Stats = tuple[tuple[float, ...], tuple[float, ...]]


@dataclass
class GallerySample:
    """One validation image the gallery keeps: denormalised (H, W, 3) uint8, labels and probabilities."""

    position: int  # index of the image in the evaluation order (= dataset index for a sequential loader)
    image: Any
    target: int
    pred: int
    confidence: float
    probs: list[float]
    kind: str  # "example" (one of the first images of its class) or "mistake"
    file: str | None = None
    input: Any = None  # the normalised image tensor, kept for Grad-CAM (with an explainer)
    overlay: Any = None  # the Grad-CAM overlay of the predicted class, (H, W, 3) uint8 (mistakes, with an explainer)


@dataclass
class _Selection:
    examples: dict[int, list[GallerySample]] = field(default_factory=dict)
    mistakes: list[GallerySample] = field(default_factory=list)
    example_positions: set[int] = field(default_factory=set)
    seen: int = 0


def _find_normalize(transform: Any) -> Stats | None:
    """(mean, std) of the last ``Normalize`` inside ``transform`` (Compose, v2.Compose, Sequential...), or None."""
    if transform is None:
        return None
    if type(transform).__name__ == "Normalize" and hasattr(transform, "mean") and hasattr(transform, "std"):
        return tuple(float(m) for m in transform.mean), tuple(float(s) for s in transform.std)
    children = getattr(transform, "transforms", None)
    if children is None and isinstance(transform, torch.nn.Sequential):
        children = list(transform)
    found = None
    for child in children or ():
        found = _find_normalize(child) or found
    return found


def normalization_of(dataset: Any) -> Stats:
    """The (mean, std) that ``dataset``'s transform normalises images with, to undo it for display.

    Looks for a ``Normalize`` in ``dataset.transform`` (through ``Subset``s); a transform without
    one means the images are already in [0, 1]. A dataset without a visible transform is assumed
    to use the ImageNet statistics of the default transforms (with a warning).
    """
    while getattr(dataset, "transform", None) is None and hasattr(dataset, "dataset"):
        dataset = dataset.dataset
    transform = getattr(dataset, "transform", None)
    if transform is None:
        warn_once(
            f"cannot see the transform of {type(dataset).__name__}: gallery images are denormalised with the "
            "ImageNet mean and std (their colours are wrong if the experiment normalises otherwise)"
        )
        return IMAGENET_MEAN, IMAGENET_STD
    return _find_normalize(transform) or ((0.0,), (1.0,))


class PredictionGallery:
    """Shows what the model makes of validation images: a captioned grid, a W&B table and W&B images.

    Attached to the evaluator, it keeps, during every evaluation, the first images of each class
    (the same ones every epoch, to watch them change) and the most confident mistakes. After the
    evaluations of every ``every``-th epoch and of the last epoch it writes
    ``{output_dir}/gallery_epoch{N}.png`` and logs to W&B (when ``log`` is given) a table
    ``val_predictions`` (image, true, pred, confidence, kind, file, one probability column per class)
    and the images ``val_gallery`` with their captions. Images are shown in their original colours:
    the normalisation ``(mean, std)`` is undone.

    Args:
        classes: class names, in the model's output order.
        output_dir: where the gallery PNGs go.
        trainer: the trainer; its epoch names the gallery and its iteration is the W&B step.
        every: draw after every this many epochs (>= 1); the last epoch is always drawn.
        size: at most this many images per gallery (>= 1): about half class examples, half mistakes.
        mean: per-channel mean the images were normalised with.
        std: per-channel std the images were normalised with.
        log: the run's :class:`~ignite_fire.loggers.wandb.RunLog` (W&B), or None.
        files: the image file of each position in the evaluation order (shown in the W&B table), or None.
        explainer: ``(images, classes) -> overlays`` (e.g. :meth:`GradCam.overlays`): the mistakes are drawn
            with the heat map of their predicted class, and the W&B table gets a ``gradcam`` column; or None.

    Example::

        gallery = PredictionGallery(classes, run_dir, trainer, every=2, mean=(0.5,) * 3, std=(0.5,) * 3)
        gallery.attach(evaluator)
    """

    def __init__(
        self,
        classes: Sequence[str],
        output_dir: str | Path,
        trainer: Engine,
        every: int = 1,
        size: int = 16,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        log: RunLog | None = None,
        files: Sequence[str] | None = None,
        explainer: Callable[[torch.Tensor, Sequence[int]], list[Any]] | None = None,
    ) -> None:
        if not classes:
            raise ValueError("Argument classes should not be empty")
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ValueError(f"Argument every should be a positive integer, got {every!r}")
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValueError(f"Argument size should be a positive integer, got {size!r}")
        if len(mean) != len(std) or any(s == 0 for s in std):
            raise ValueError(f"Arguments mean and std should have the same length and no zero std, got {mean}, {std}")
        self.classes = list(classes)
        self.output_dir = Path(output_dir)
        self.trainer = trainer
        self.every = every
        self.size = size
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.log = log
        self.files = list(files) if files is not None else None
        self.explainer = explainer
        n = len(self.classes)
        self.per_class = max(1, (size // 2) // n) if size >= n else 0
        self.mistake_slots = size - self.per_class * n if size >= n else size
        self.fonts: LabelFonts | None = None
        self.samples: list[GallerySample] = []  # the last evaluation's selection
        self.drawn_epoch: int | None = None
        self.last_path: Path | None = None
        self._selection = _Selection()
        self._evaluated_epoch: int | None = None

    def attach(self, evaluator: Engine) -> None:
        """Keep images during each evaluation and draw at its end; a failure only warns (:func:`guarded`)."""
        evaluator.add_event_handler(Events.STARTED, self.reset)
        evaluator.add_event_handler(Events.ITERATION_COMPLETED, guarded("the prediction gallery", self.update))
        evaluator.add_event_handler(Events.COMPLETED, guarded("the prediction gallery", self))
        # A run stopped early (early stopping, --stop_after_epoch) still gets its last gallery.
        self.trainer.add_event_handler(Events.COMPLETED, guarded("the prediction gallery", self.draw_pending))

    def reset(self, _: Engine | None = None) -> None:
        self._selection = _Selection()

    def update(self, engine: Engine) -> None:
        """Keep the class examples and the most confident mistakes of one evaluation batch."""
        logits, targets = engine.state.output[0], engine.state.output[1]
        images = engine.state.batch[0]
        probs = torch.softmax(logits.detach().float(), dim=1).cpu()
        targets = targets.detach().cpu().long()
        confidence, pred = probs.max(dim=1)
        selection = self._selection
        start, selection.seen = selection.seen, selection.seen + len(targets)

        def sample(i: int, kind: str) -> GallerySample:
            position = start + i
            image = denormalize(images[i].detach().cpu().float(), self.mean, self.std)
            file = self.files[position] if self.files is not None and position < len(self.files) else None
            return GallerySample(
                position=position,
                image=to_uint8_image(image),
                target=int(targets[i]),
                pred=int(pred[i]),
                confidence=float(confidence[i]),
                probs=[float(p) for p in probs[i]],
                kind=kind,
                file=file,
                input=images[i].detach().cpu().clone() if self.explainer is not None else None,
            )

        if self.per_class:
            for label in targets.unique().tolist():
                kept = selection.examples.setdefault(int(label), [])
                for i in (targets == label).nonzero().flatten().tolist():
                    if len(kept) >= self.per_class:
                        break
                    kept.append(sample(i, "example"))
                    selection.example_positions.add(start + i)
        if self.mistake_slots:
            wrong = (pred != targets).nonzero().flatten()
            if len(wrong):
                floor = selection.mistakes[-1].confidence if len(selection.mistakes) >= self.mistake_slots else -1.0
                order = wrong[confidence[wrong].argsort(descending=True)][: self.mistake_slots].tolist()
                new = [
                    sample(i, "mistake")
                    for i in order
                    if float(confidence[i]) > floor and start + i not in selection.example_positions
                ]
                merged = sorted(selection.mistakes + new, key=lambda s: -s.confidence)
                selection.mistakes = merged[: self.mistake_slots]

    def __call__(self, engine: Engine) -> None:
        """At the end of an evaluation: keep its selection and draw it if this epoch is due."""
        selection = self._selection
        self.samples = [s for label in sorted(selection.examples) for s in selection.examples[label]]
        self.samples += selection.mistakes
        self._evaluated_epoch = self.trainer.state.epoch
        epoch = self.trainer.state.epoch
        if epoch % self.every == 0 or epoch >= (self.trainer.state.max_epochs or math.inf):
            self.draw()

    def draw_pending(self, _: Engine | None = None) -> None:
        """Draw the last evaluation's gallery if it was not drawn yet."""
        if self._evaluated_epoch is not None and self._evaluated_epoch != self.drawn_epoch:
            self.draw()

    def caption(self, sample: GallerySample) -> str:
        true, pred = self.label(sample.target), self.label(sample.pred)
        return f"true: {true}, pred: {pred} ({sample.confidence:.2f})"

    def label(self, index: int) -> str:
        if self.fonts is None:
            self.fonts = label_fonts(self.classes)
        return display_label(self.classes[index], index, self.fonts)

    def draw(self) -> Path | None:
        """Write ``gallery_epoch{N}.png`` of the last evaluation and log it to W&B."""
        epoch = self._evaluated_epoch
        if epoch is None:
            return None
        self.drawn_epoch = epoch
        if not self.samples:
            return None
        if self.fonts is None:
            self.fonts = label_fonts(self.classes)
        explained = self._explain_mistakes()
        pictures = [s.overlay if s.overlay is not None else s.image for s in self.samples]
        items = [
            GalleryItem(picture, self.label(s.target), self.label(s.pred), s.confidence)
            for picture, s in zip(pictures, self.samples, strict=True)
        ]
        examples = sum(s.kind == "example" for s in self.samples)
        mistakes = len(self.samples) - examples
        title = f"epoch {epoch}: {examples} class examples, {mistakes} most confident mistakes"
        title += " (Grad-CAM of the predicted class)" if explained else ""
        columns = self.per_class * len(self.classes) if 0 < self.per_class * len(self.classes) <= 8 else None
        path = plot_gallery(
            items, self.output_dir / f"gallery_epoch{epoch}.png", title=title, fonts=self.fonts, columns=columns
        )
        self.last_path = path
        self._log_wandb()
        return path

    def _explain_mistakes(self) -> bool:
        """Give each mistake its Grad-CAM overlay (of the predicted class); True when any was drawn."""
        mistakes = [s for s in self.samples if s.kind == "mistake" and s.input is not None and s.overlay is None]
        if self.explainer is None or not mistakes:
            return False
        overlays = self.explainer(torch.stack([s.input for s in mistakes]), [s.pred for s in mistakes])
        for sample, overlay in zip(mistakes, overlays, strict=True):
            sample.overlay = overlay
        return True

    def _log_wandb(self) -> None:
        if self.log is None:
            return
        columns = ["image", "true", "pred", "confidence", "kind", "file"]
        columns += [f"p({name})" for name in self.classes] + (["gradcam"] if self.explainer is not None else [])
        rows, images = [], []
        for s in self.samples:
            image = Picture(s.image, self.caption(s))
            images.append(image)
            true, pred = self.classes[s.target], self.classes[s.pred]
            cam = [Picture(s.overlay, f"Grad-CAM of {pred}") if s.overlay is not None else None]
            cam = cam if self.explainer is not None else []
            rows.append([image, true, pred, s.confidence, s.kind, s.file or str(s.position), *s.probs, *cam])
        self.log.log_table("val_predictions", columns, rows, self.trainer.state.iteration, {"val_gallery": images})
