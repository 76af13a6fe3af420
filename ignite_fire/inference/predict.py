"""Predict a folder of images with one or more checkpoints and write the submission file.

    python -m ignite_fire predict runs/NAME/checkpoints/best_checkpoint_7_val_acc=0.9100.pt --input=A --list=A.txt
    python -m ignite_fire predict runs/fold0 runs/fold1 runs/fold2 --input=A --tta=hflip
    python -m ignite_fire predict runs/CV_NAME --list=A.txt   # its refits (else its folds), and its decision.json

A checkpoint holds the model weights, the class list and the run's config, so nothing else is
needed to rebuild a built-in model (``--model``) with the default transforms. A checkpoint is data:
nothing it names is ever imported. A run whose experiment defines its own ``build_model`` or
``build_transforms`` needs that file named on the command line, ``--experiment=experiments/x.py``
(the config records which factories the experiment had, so predict says so in one line). A run
directory stands for its best checkpoint. With several checkpoints (the k folds, say) their softmax
probabilities are averaged.

Writes, only when every image was predicted (each file is replaced atomically, so a failed run
leaves no partial file):

* ``--output`` (default ``submission.txt``): UTF-8, one ``file_name<TAB>class name`` line per
  image, in the order of ``--list`` (lines ``file_name[<TAB>anything]``, names relative to
  ``--input``), else sorted by name: the Tianchi submission format;
* ``--probabilities`` (default ``probabilities.csv`` beside the output): ``file_name`` and one
  column per class.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from ignite_fire.config import DEFAULTS, RunConfig
from ignite_fire.cv_dir import expand_checkpoints
from ignite_fire.data.decode import draft_size
from ignite_fire.data.images import BadImageError, is_image_file, load_image
from ignite_fire.data.loaders import SignalSafeLoader, default_num_workers, worker_init
from ignite_fire.data.sources import read_utf8
from ignite_fire.data.transforms import build_transforms
from ignite_fire.devices import resolve_device
from ignite_fire.engines import autocast, resolve_amp
from ignite_fire.errors import UserError
from ignite_fire.experiment import Experiment, load_experiment
from ignite_fire.files import check_outputs, write_text_atomic
from ignite_fire.handlers.checkpoints import load_checkpoint, load_model_state
from ignite_fire.handlers.progress_log import LoopProgress
from ignite_fire.handlers.stable_best import BEST_CHECKPOINT
from ignite_fire.inference.decision import apply_decision, choose_decision, decision_text
from ignite_fire.inference.onnx_model import read_export
from ignite_fire.inference.tta import DEFAULT_SCALES, check_scales, parse_modes, tta_probabilities
from ignite_fire.models import build_model
from ignite_fire.performance import configure_threads

logger = logging.getLogger("ignite_fire")

SHOW = 5


@dataclass
class Predictor:
    """A model rebuilt from a checkpoint, with its class list and eval transform."""

    path: Path
    model: nn.Module
    classes: list[str]
    transform: Callable[[Any], torch.Tensor]
    channels_last: bool
    draft_size: int | None = None  # JPEG draft decoding, as the run's datasets did


def find_checkpoint(spec: str | Path) -> Path:
    """``spec`` itself if it is a file; for a run directory, its ``checkpoints/best.pt`` (else its best file)."""
    path = Path(spec).expanduser()
    if path.is_file():
        return path
    if not path.is_dir():
        raise UserError(f"checkpoint not found: {path}")
    folder = path / "checkpoints" if (path / "checkpoints").is_dir() else path
    if (folder / BEST_CHECKPOINT).is_file():  # the stable copy of the current best
        return folder / BEST_CHECKPOINT
    candidates = sorted(folder.glob("best_checkpoint_*.pt"))
    if not candidates:
        raise UserError(f"no best_checkpoint_*.pt in {folder}: pass a checkpoint file")

    def score(candidate: Path) -> float:  # Ignite names them best_checkpoint_{epoch}_{metric}={score}.pt
        match = re.search(r"=(-?[0-9.]+(?:e-?\d+)?)\.pt$", candidate.name)
        return float(match.group(1)) if match else -math.inf

    return max(candidates, key=score)


REBUILT_BY = ("build_model", "build_transforms")  # the experiment factories that decide the model and its input


def named_experiment(experiment: str | Path | Experiment | None) -> Experiment | None:
    """The experiment file the user named with ``--experiment`` (imported: the user chose to run it), or None."""
    if experiment is None or isinstance(experiment, Experiment):
        return experiment
    path = Path(str(experiment)).expanduser()
    if path.suffix != ".py":
        raise UserError(f"--experiment={experiment} must be the experiment's .py file (the one the run trained with)")
    return load_experiment(path)


def needs_experiment(path: Path, config: dict[str, Any], factories: Sequence[str]) -> str:
    """The one line for a checkpoint whose model only its experiment's own factories can rebuild."""
    recorded = config.get("experiment") or "EXPERIMENT.py"
    return (
        f"{path} was trained with its experiment's own {' and '.join(factories)} ({recorded}): "
        f"pass --experiment={recorded} to rebuild it"
    )


def load_predictor(path: Path, device: torch.device, experiment: Experiment | None = None) -> Predictor:
    """Rebuild the model of checkpoint ``path`` on ``device``, from the checkpoint's data only.

    The model name, classes and transform settings come from the checkpoint's config; the
    experiment file it records is never imported (a checkpoint must not be able to run code).
    Only an ``experiment`` the user named (``--experiment=FILE``) supplies its own ``build_model``
    and ``build_transforms``.
    """
    checkpoint = load_checkpoint(path)
    classes = checkpoint.get("classes")
    config = checkpoint.get("config")
    if not isinstance(classes, list) or not isinstance(config, dict):
        raise UserError(f"{path} has no class list or config: predict needs a checkpoint saved by ignite_fire train")
    config = {**DEFAULTS, **config, "pretrained": False}  # the weights come from the checkpoint
    model_factory: Callable[..., nn.Module] = build_model
    transforms_factory: Callable[..., Any] = build_transforms
    recorded = config.get("experiment_factories")  # which factories the experiment had (training.run_config)
    if experiment is not None:
        model_factory = experiment.factory("build_model", build_model)
        transforms_factory = experiment.factory("build_transforms", build_transforms)
    elif isinstance(recorded, list) and any(name in recorded for name in REBUILT_BY):
        raise UserError(needs_experiment(path, config, [name for name in REBUILT_BY if name in recorded]))
    elif config.get("experiment"):  # an older checkpoint: it does not say whether its experiment had its own
        logger.info(
            f"{path} records the experiment {config['experiment']}, which is not imported: rebuilding with the "
            "default build_model and build_transforms (pass --experiment=FILE if it defines its own)"
        )
    try:
        model = model_factory(config, len(classes))
        load_model_state(model, checkpoint["model"], str(path))
    except UserError as error:
        if experiment is None and config.get("experiment") and not isinstance(recorded, list):
            raise UserError(f"{needs_experiment(path, config, ['build_model'])} ({error})") from error
        raise
    settings = RunConfig.from_dict(config)  # the stored config, over today's defaults
    channels_last = settings.update.channels_last
    model = model.to(device, memory_format=torch.channels_last if channels_last else torch.preserve_format)  # type: ignore[call-overload]  # Module.to takes memory_format; torch's overloads omit it
    model.eval()
    transform = transforms_factory(config)[1]
    draft = draft_size(settings.data.image_size, settings.speed.jpeg_draft)
    return Predictor(path, model, list(classes), transform, channels_last, draft)


def load_export_predictor(path: Path) -> Predictor:
    """A predictor of an ONNX export (onnxruntime), with the classes and preprocessing of its metadata."""
    model, classes, transform, draft = read_export(path)
    return Predictor(path, model, classes, transform, False, draft)


def list_images(root: Path, list_file: Path | None) -> list[str]:
    """Image names relative to ``root``: the order of ``list_file`` if given, else every image sorted by name."""
    if list_file is None:
        names = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if is_image_file(p))
        if not names:
            raise UserError(f"no images found in {root}")
        return names
    if not list_file.is_file():
        raise UserError(f"--list file not found: {list_file}")
    names = []
    missing: list[str] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(read_utf8(list_file).splitlines(), start=1):
        name = line.split("\t", 1)[0].strip()
        if not name:
            continue
        if name in seen:
            raise UserError(f"{list_file} lists {name} twice (lines {seen[name]} and {number})")
        seen[name] = number
        if not (root / name).is_file():
            missing.append(f"{name} (line {number})")
        names.append(name)
    if missing:
        more = f", ... ({len(missing)} in all)" if len(missing) > SHOW else ""
        raise UserError(f"{list_file} lists images that are not in {root}: {', '.join(missing[:SHOW])}{more}")
    if not names:
        raise UserError(f"{list_file} lists no images")
    return names


class PredictDataset(Dataset):
    """``(index, image tensor or None, error or None)`` for each name; with ``skip_bad`` a bad image is None."""

    def __init__(
        self,
        root: Path,
        names: Sequence[str],
        transform: Callable[[Any], torch.Tensor],
        skip_bad: bool,
        draft_size: int | None = None,
    ) -> None:
        self.root = root
        self.names = list(names)
        self.transform = transform
        self.skip_bad = skip_bad
        self.draft_size = draft_size

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int) -> tuple[int, torch.Tensor | None, str | None]:
        try:
            image = load_image(self.root / self.names[index], self.draft_size)
        except BadImageError as error:
            if not self.skip_bad:
                raise
            return index, None, str(error)
        return index, self.transform(image), None


def collate_predictions(items: list[tuple[int, torch.Tensor | None, str | None]]) -> tuple[Any, ...]:
    good = [(index, image) for index, image, _ in items if image is not None]
    bad = [(index, error) for index, image, error in items if image is None]
    indices = torch.tensor([index for index, _ in good], dtype=torch.long)
    images = torch.stack([image for _, image in good]) if good else None
    return indices, images, bad


@torch.inference_mode()
def probabilities_of(
    model: nn.Module, images: torch.Tensor, device: torch.device, tta: Any, scales: Sequence[float] = DEFAULT_SCALES
) -> torch.Tensor:
    """Softmax probabilities (float32, on the CPU), averaged over the TTA views (:mod:`ignite_fire.inference.tta`)."""
    with autocast(device, resolve_amp("auto", device)):
        return tta_probabilities(model, images, tta, scales).cpu()


def predict_images(
    predictors: Sequence[Predictor],
    root: Path,
    names: Sequence[str],
    device: torch.device,
    tta: Any = None,
    batch_size: int = 64,
    num_workers: int = 0,
    skip_bad: bool = False,
    tta_scales: Sequence[float] = DEFAULT_SCALES,
) -> tuple[torch.Tensor, dict[int, str]]:
    """Average probabilities (N, C) of ``predictors`` over the images, and ``{index: error}`` of skipped images.

    Predictors with the same eval transform share one pass over the images (decoded once).
    """
    groups: dict[tuple[str, int | None], list[Predictor]] = {}
    for predictor in predictors:
        groups.setdefault((repr(predictor.transform), predictor.draft_size), []).append(predictor)
    totals = torch.zeros(len(names), len(predictors[0].classes))
    skipped: dict[int, str] = {}
    for group in groups.values():
        dataset = PredictDataset(root, names, group[0].transform, skip_bad, group[0].draft_size)
        loader = SignalSafeLoader(
            dataset,
            batch_size=batch_size,
            num_workers=num_workers,
            collate_fn=collate_predictions,
            pin_memory=device.type == "cuda",
            worker_init_fn=worker_init(),
        )
        progress = LoopProgress(len(loader), prefix="predict: ")  # a line every 30 s on a long prediction
        for indices, images, bad in loader:
            skipped.update(bad)
            if images is None:
                progress.update(0)
                continue
            images = images.to(device, non_blocking=True)
            for predictor in group:
                batch = images.to(memory_format=torch.channels_last) if predictor.channels_last else images
                totals[indices] += probabilities_of(predictor.model, batch, device, tta, tta_scales)
            progress.update(len(indices))
    return totals / len(predictors), skipped


def submission_text(names: Sequence[str], labels: Sequence[str]) -> str:
    return "".join(f"{name}\t{label}\n" for name, label in zip(names, labels, strict=True))


def probabilities_csv(names: Sequence[str], probabilities: torch.Tensor, classes: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["file_name", *classes])
    for name, row in zip(names, probabilities.tolist(), strict=True):
        writer.writerow([name, *(f"{p:.6f}" for p in row)])
    return buffer.getvalue()


def check_writable(path: Path, flag: str = "--output", folder: bool = False) -> None:
    """``path`` (a file, or with ``folder`` a folder) can be written: it, or the nearest existing folder above it,
    is a writable folder on a writable filesystem; a one-line UserError naming ``flag`` and the path if not.

    Creates nothing: the folders are made when the files are written, after every image is predicted.
    """
    if path.is_dir() and not folder:
        raise UserError(f"{flag} {path} is a folder: give a file name, e.g. {path / 'submission.txt'}")
    if path.exists() and not path.is_dir() and folder:
        raise UserError(f"{flag}={path} is a file: give a folder for the files it writes")
    start = path.absolute() if folder else path.parent.absolute()
    existing = start
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"cannot write {path}: {existing} is a file, not a folder")
    try:
        read_only = bool(os.statvfs(existing).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    if read_only:
        raise UserError(f"cannot write {path}: {existing} is on a read-only filesystem; pass {flag}=PATH elsewhere")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"cannot write {path} (Permission denied in {existing}); pass {flag}=PATH elsewhere")


def write_outputs(files: dict[Path, str]) -> None:
    """Write each file atomically; on failure remove the folders this created (nothing half-written)."""
    missing = sorted({p for path in files for p in [path.parent, *path.parent.parents] if not p.exists()})
    try:
        for path, text in files.items():
            write_text_atomic(path, text)
    except BaseException:
        for folder in reversed(missing):  # deepest first; only folders this call created
            shutil.rmtree(folder, ignore_errors=True)
        raise


def check_options(
    tta: Any, tta_scales: Any, on_bad_image: str, batch_size: Any, num_workers: Any, backend: str
) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """The TTA modes and scales to use; a one-line UserError for a bad option."""
    modes = parse_modes(tta)  # hflip, scales, five_crop: ignite_fire/inference/tta.py
    scales = check_scales([tta_scales] if isinstance(tta_scales, (int, float)) else tta_scales)
    if on_bad_image not in ("error", "skip"):
        raise UserError(f"--on_bad_image={on_bad_image!r} is not allowed: choose 'error' or 'skip'")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise UserError(f"--batch_size must be a positive integer, got {batch_size!r}")
    bad_workers = isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0
    if num_workers is not None and bad_workers:
        raise UserError(f"--num_workers must be an integer >= 0 (0: load in the main process), got {num_workers!r}")
    if backend not in ("torch", "onnxruntime"):
        raise UserError(f"--backend={backend!r} is not allowed: choose torch or onnxruntime")
    return modes, scales


@dataclass(frozen=True)
class PredictPaths:
    """Where predict reads the images (``root``, in the order of ``list_file``) and writes its two files."""

    root: Path
    list_file: Path | None
    output: Path
    probabilities: Path


def resolve_paths(input: str | None, list_file: str | None, output: str, probabilities: str | None) -> PredictPaths:
    """The image folder, the list file and the output files; a one-line UserError for one that cannot be used."""
    listed = Path(str(list_file)).expanduser() if list_file is not None else None
    if input is None:
        if listed is None:
            raise UserError("predict needs --input=DIR (the images) or --list=FILE")
        beside = listed.with_suffix("")
        root = beside if beside.is_dir() else listed.parent
    else:
        root = Path(str(input)).expanduser()
    if not root.is_dir():
        raise UserError(f"--input folder not found: {root}")
    output_path = Path(str(output)).expanduser()
    probabilities_path = (
        Path(str(probabilities)).expanduser() if probabilities else output_path.parent / "probabilities.csv"
    )
    check_writable(output_path)
    check_writable(probabilities_path, "--probabilities")
    return PredictPaths(root, listed, output_path, probabilities_path)


def load_predictors(
    specs: Sequence[str | Path], backend: str, device: torch.device, experiment: Experiment | None = None
) -> list[Predictor]:
    """One predictor per checkpoint (torch) or ONNX export (onnxruntime); they must share one class list."""
    if backend == "onnxruntime":  # eco2: predict from an ONNX export, its classes and preprocessing in its metadata
        predictors = [load_export_predictor(find_checkpoint(spec)) for spec in specs]
    else:
        predictors = [load_predictor(find_checkpoint(spec), device, experiment) for spec in specs]
    classes = predictors[0].classes
    for predictor in predictors[1:]:
        if predictor.classes != classes:
            raise UserError(
                f"cannot average {predictors[0].path} and {predictor.path}: they were trained on different "
                f"classes ({classes} and {predictor.classes})"
            )
    return predictors


@dataclass(frozen=True)
class Predictions:
    """The averaged probabilities of the images that could be read, in submission order."""

    names: list[str]
    probabilities: torch.Tensor
    skipped: list[str]  # unreadable images left out (``--on_bad_image=skip``)
    seconds: float


def predict_kept(
    predictors: Sequence[Predictor],
    root: Path,
    names: Sequence[str],
    device: torch.device,
    tta: tuple[str, ...],
    tta_scales: Sequence[float],
    batch_size: int,
    num_workers: int,
    skip_bad: bool,
) -> Predictions:
    """:func:`predict_images`, timed, without the skipped images; a UserError if none could be read."""
    start = time.perf_counter()
    averaged, skipped = predict_images(
        predictors, root, names, device, tta, batch_size, num_workers, skip_bad, tta_scales
    )
    seconds = time.perf_counter() - start
    kept = [i for i in range(len(names)) if i not in skipped]
    if not kept:
        raise UserError(f"none of the {len(names)} images in {root} could be read; nothing written")
    return Predictions([names[i] for i in kept], averaged[kept], [names[i] for i in sorted(skipped)], seconds)


def decide_labels(probabilities: torch.Tensor, decision: dict[str, Any] | None, classes: Sequence[str]) -> list[str]:
    """The class name of each row: the decision's biased argmax (:mod:`ignite_fire.competition.decision`), or argmax."""
    decided = apply_decision(probabilities, decision, classes) if decision else probabilities.argmax(dim=1)
    return [classes[i] for i in decided.tolist()]


def checkpoint_inputs(checkpoints: Sequence[Path]) -> dict[str, Path]:
    """The checkpoints as inputs of :func:`ignite_fire.files.check_outputs`: ``CHECKPOINT``, ``CHECKPOINT #2``, ..."""
    return {"CHECKPOINT" + (f" #{i + 1}" if i else ""): path for i, path in enumerate(checkpoints)}


def check_predict_outputs(paths: PredictPaths, checkpoints: Sequence[Path], decision_path: Path | None) -> None:
    """Neither output is a checkpoint, the list, the decision or inside the images' folder, nor are they one file."""
    inputs = {**checkpoint_inputs(checkpoints), "--input": paths.root}
    if paths.list_file is not None:
        inputs["--list"] = paths.list_file
    if decision_path is not None:
        inputs["--decision"] = decision_path
    check_outputs({"--output": paths.output, "--probabilities": paths.probabilities}, inputs)


def log_plan(
    paths: PredictPaths,
    names: Sequence[str],
    predictors: Sequence[Predictor],
    device: torch.device,
    tta: tuple[str, ...],
    decision: dict[str, Any] | None,
    decision_path: Path | None,
) -> None:
    """Say what predict is about to do: how many images, in which order, with what."""
    order = f"in the order of {paths.list_file}" if paths.list_file else "sorted by name"
    logger.info(
        f"predict: {len(names)} images in {paths.root} ({order}) with {len(predictors)} checkpoint"
        f"{'s' if len(predictors) > 1 else ''} on {device}" + (f", tta {','.join(tta)}" if tta else "")
    )
    averaged = f"averaging {len(predictors)} checkpoints" if len(predictors) > 1 else "one checkpoint"
    logger.info(f"predict: {averaged}; " + decision_text(decision, decision_path))


def summarize(
    predictions: Predictions, labels: Sequence[str], classes: Sequence[str], paths: PredictPaths
) -> dict[str, Any]:
    """Log what was predicted and written; predict's result dict."""
    count = len(predictions.names)
    seconds = predictions.seconds
    rate = count / seconds if seconds > 0 else math.inf
    logger.info(f"predicted {count} images in {seconds:.1f} s ({rate:.1f} images/s)")
    if predictions.skipped:
        shown = ", ".join(predictions.skipped[:SHOW])
        plural = "s" if len(predictions.skipped) > 1 else ""
        logger.info(f"skipped {len(predictions.skipped)} unreadable image{plural} (not in the submission): {shown}")
    counts = {name: labels.count(name) for name in classes}
    logger.info(
        f"wrote {paths.output} ({count} lines) and {paths.probabilities}; predicted "
        + ", ".join(f"{name} {n}" for name, n in counts.items())
    )
    return {
        "images": count,
        "skipped": list(predictions.skipped),
        "seconds": seconds,
        "images_per_second": rate,
        "output": str(paths.output),
        "probabilities": str(paths.probabilities),
        "class_counts": counts,
    }


def predict(
    *checkpoints: str,
    input: str | None = None,  # named for the command-line flag --input
    list: str | None = None,  # named for the command-line flag --list (shadows the builtin here)
    output: str = "submission.txt",
    probabilities: str | None = None,
    tta: Any = None,
    tta_scales: Sequence[float] = DEFAULT_SCALES,
    batch_size: int = 64,
    device: str = "auto",
    num_workers: int | None = None,
    on_bad_image: str = "error",
    decision: str | None = "auto",
    backend: str = "torch",
    experiment: str | Experiment | None = None,
    members: str = "auto",
) -> dict[str, Any]:
    """Predict the images in --input with CHECKPOINT(s); write the Tianchi submission and probabilities.csv.

    Args:
        checkpoints: checkpoint files, run directories (their best checkpoint), cv directories (every fold, or
            its refits, and its decision.json) or .onnx files (with --backend=onnxruntime); several are averaged.
        input: the folder of images (default: the --list file's name without .txt, e.g. A.txt -> A/).
        list: a file naming the images in submission order (``file_name[<TAB>anything]`` lines).
        output: the submission file (UTF-8, ``file_name<TAB>class`` lines).
        probabilities: the probabilities CSV (default: probabilities.csv beside the output).
        tta: None, or TTA modes "hflip", "scales", "five_crop", comma-separated (e.g. hflip,scales).
        tta_scales: the image scales of the "scales" mode (default 0.875, 1.0, 1.125).
        batch_size: images per batch.
        device: "auto", "cpu", "cuda", "cuda:1", ...
        num_workers: DataLoader worker processes (default: min(8, CPU count)).
        on_bad_image: "error" (stop, naming the file) or "skip" (leave it out of the submission).
        decision: "auto" (a cv directory's decision.json), "none" (plain argmax) or a decision.json file.
        backend: "torch" (checkpoints) or "onnxruntime" (.onnx files written by ``export``).
        experiment: the experiment .py file whose own build_model/build_transforms rebuild the model (a
            checkpoint never names code to run: only this option imports an experiment).
        members: for a cv directory, the models averaged: "auto" (its refits if it has any, else its folds),
            "refit", "folds" or "all".
    """
    if not checkpoints:
        raise UserError("predict needs at least one checkpoint: predict CHECKPOINT.pt --input=DIR")
    modes, scales = check_options(tta, tta_scales, on_bad_image, batch_size, num_workers, backend)
    specs, cv_decision = expand_checkpoints(checkpoints, members)  # a cv directory: its refits or folds
    chosen, decision_path = choose_decision(decision, cv_decision)
    paths = resolve_paths(input, list, output, probabilities)
    check_predict_outputs(paths, [find_checkpoint(spec) for spec in specs], decision_path)
    names = list_images(paths.root, paths.list_file)
    torch_device = resolve_device(str(device))
    predictors = load_predictors(specs, backend, torch_device, named_experiment(experiment))
    workers = default_num_workers() if num_workers is None else int(num_workers)
    configure_threads(None, workers)  # torch's default oversubscribes the cores beside the workers
    log_plan(paths, names, predictors, torch_device, modes, chosen, decision_path)
    predictions = predict_kept(
        predictors, paths.root, names, torch_device, modes, scales, batch_size, workers, on_bad_image == "skip"
    )
    classes = predictors[0].classes
    labels = decide_labels(predictions.probabilities, chosen, classes)
    write_outputs(
        {
            paths.probabilities: probabilities_csv(predictions.names, predictions.probabilities, classes),
            paths.output: submission_text(predictions.names, labels),
        }
    )
    return summarize(predictions, labels, classes, paths)
