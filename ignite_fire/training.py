"""One training run, top to bottom: data, model, engines, handlers, resume, results.

:func:`build_run` assembles everything for an :class:`~ignite_fire.experiment.Experiment` from a
few builders, each returning plain objects (as in Ignite's ``examples/cifar10/main.py``)::

    settings = RunConfig.from_dict(config)           # the config as typed, frozen groups
    claim = claim_run_dir(...)                       # names the run, locks {output_dir}/{name}
    dataflow = get_dataflow(...)                     # loaders, classes, class counts
    model, loss_fn, optimizer, scheduler = initialize(...)
    engines = create_engines(...)                    # trainer (MixUp/CutMix, EMA), evaluator + metrics
    checkpointers = create_checkpointers(...)        # best, last.pt, early stopping, StopAt
    attach_end_of_epoch(run)                         # in END_OF_EPOCH_ORDER

:func:`train` runs it and writes ``results.json``. The run directory ``{output_dir}/{name}`` holds::

    config.json            the resolved config, its experiment file and overrides (train it to re-run)
    checkpoints/           best_checkpoint_*.pt (model, classes, config), best.pt (a copy of the best one)
                           and last.pt (everything)
    history.json           one entry per epoch: train/val metrics, lr, times
    metrics.csv            one row per epoch, W&B's names (loggers "csv"); tensorboard/ (loggers "tensorboard")
    results.json           best_val_acc, best_epoch, best_checkpoint, ... (at the end)
    wandb/                 the W&B run (offline by default; `wandb sync` it later)
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import ignite.distributed as idist
import torch
from ignite.engine import Engine, Events
from ignite.handlers import Checkpoint, EarlyStopping
from torch.utils.data import DataLoader

from ignite_fire import distributed, signals
from ignite_fire.config import Bookkeeping, RunConfig, check_data_keys, logger_names
from ignite_fire.data.cache import cache_splits
from ignite_fire.data.datasets import build_datasets
from ignite_fire.data.loaders import build_eval_loader, build_train_loader, reseed_for_epoch
from ignite_fire.data.mixing import build_batch_transform
from ignite_fire.data.transforms import build_transforms
from ignite_fire.devices import resolve_device, seed_everything
from ignite_fire.engines import create_evaluator, create_trainer
from ignite_fire.errors import UserError
from ignite_fire.experiment import Experiment
from ignite_fire.files import DiskFullError, write_json_atomic
from ignite_fire.finetune import describe_groups, group_learning_rates
from ignite_fire.handlers.checkpoints import (
    LAST_CHECKPOINT,
    Value,
    best_checkpointer,
    kept_best_record,
    last_checkpointer,
    load_checkpoint,
    load_model_state,
    metric_score,
)
from ignite_fire.handlers.ema import ModelEMA, attach_ema
from ignite_fire.handlers.first_iteration_time import FirstIterationTime
from ignite_fire.handlers.freeze_backbone import FreezeBackbone, attach_freeze
from ignite_fire.handlers.interrupt import Interrupt
from ignite_fire.handlers.progress_log import ProgressLog
from ignite_fire.handlers.rng_state import RNGState
from ignite_fire.handlers.scheduler_step import SchedulerStep
from ignite_fire.handlers.stable_best import StableBest
from ignite_fire.handlers.stop_at import StopAt
from ignite_fire.handlers.thread_tuner import ThreadTuner
from ignite_fire.handlers.train_stats import TrainStats
from ignite_fire.inference.tta import TTAModel, parse_modes
from ignite_fire.init_from import load_initial_weights
from ignite_fire.loggers import attach_loggers
from ignite_fire.loggers import wandb as wandb_logging
from ignite_fire.losses import build_loss
from ignite_fire.metrics import attach_validation_metrics, scalar_metrics
from ignite_fire.models import build_model, check_model_output, first_images
from ignite_fire.optim import build_optimizer, build_scheduler, lengthen_schedule
from ignite_fire.performance import compile_model, configure_cuda, configure_threads, thread_candidates
from ignite_fire.pictures.attach import attach_pictures
from ignite_fire.pictures.guard import guarded
from ignite_fire.pictures.report import write_index
from ignite_fire.pictures.train_batch import augment_title
from ignite_fire.run_dir import RunDirClaim, find_resume_checkpoint, remove_partial_writes, run_name

logger = logging.getLogger("ignite_fire")

EPOCH_LOG_NAMES = ("train_loss", "train_acc", "val_loss", "val_acc", "val_macro_f1", "lr")


@dataclass
class Dataflow:
    """What :func:`get_dataflow` returns: this process's loaders and the classes they hold."""

    train_loader: DataLoader
    val_loader: DataLoader
    classes: list[str]
    class_counts: list[int]


@dataclass
class Engines:
    """What :func:`create_engines` returns; ``eval_model`` is the EMA model when there is one."""

    trainer: Engine
    evaluator: Engine
    eval_model: torch.nn.Module
    ema: ModelEMA | None
    freeze: FreezeBackbone | None


@dataclass
class Checkpointers:
    """What :func:`create_checkpointers` returns: the checkpoints, what ``last.pt`` holds, and the stops."""

    best: Checkpoint
    last: Checkpoint
    to_save: dict[str, Any]
    early_stopping: EarlyStopping | None
    stop_at: StopAt


@dataclass
class Run:
    """Everything one training run is made of; handlers may be attached before :func:`train` runs it."""

    experiment: Experiment
    config: dict[str, Any]  # what config.json, W&B and the checkpoints record
    settings: RunConfig
    name: str
    run_dir: Path
    claim: RunDirClaim
    device: torch.device
    classes: list[str]
    model: torch.nn.Module
    loss_fn: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    trainer: Engine
    evaluator: Engine
    train_loader: DataLoader
    val_loader: DataLoader
    best_checkpointer: Checkpoint
    last_checkpointer: Checkpoint
    to_save: dict[str, Any]
    early_stopping: EarlyStopping | None
    stop_at: StopAt
    wandb_run_id: Value
    history: list[dict[str, Any]]
    wandb_logger: Any = None
    stop_cause: str = ""  # what stopped an interrupted run: SIGTERM, a lost DataLoader worker, ...
    resume_command: str = ""  # what continues it (train's resume_command)
    progress: ProgressLog | None = None  # the progress lines when stderr is not a terminal

    @property
    def checkpoint_dir(self) -> Path:
        return self.run_dir / "checkpoints"


def current_lr(optimizer: torch.optim.Optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


def claim_run_dir(keys: Bookkeeping, experiment_name: str, resume_path: Path | None) -> RunDirClaim:
    """Name the run (``--name``, or the run ``resume_path`` belongs to) and claim its directory."""
    if resume_path is not None:
        run_dir = resume_path.parent.parent
        return RunDirClaim(str(run_dir.parent), run_dir.name, resuming=True)
    name = distributed.same_on_all_ranks(run_name(keys.name, experiment_name, keys.output_dir))
    return RunDirClaim(keys.output_dir, name, resuming=False)


def get_dataflow(experiment: Experiment, settings: RunConfig, device: torch.device) -> Dataflow:
    """Transforms, datasets (decoded once with ``cache="memory"``) and this process's loaders.

    ``batch_size`` is the global batch; each process loads its share of it and of every epoch.
    """
    config = experiment.config  # the experiment's factories receive the dict (the experiment contract)
    transforms = experiment.factory("build_transforms", build_transforms)(config)
    splits = experiment.factory("build_datasets", build_datasets)(config, transforms)
    splits, cache_options = cache_splits(experiment, splits, settings, device)
    process_batch = distributed.process_batch_size(settings.training.batch_size)
    shard = (idist.get_rank(), idist.get_world_size())
    options = {"num_workers": settings.data.num_workers, **cache_options}  # the cache may set num_workers=0
    seed, balanced = settings.update.seed, settings.data.sampler == "balanced"
    train_loader = build_train_loader(
        splits.train, splits.train.targets, process_batch, seed, balanced, *shard, **options
    )
    val_loader = build_eval_loader(splits.val, process_batch, *shard, **options)
    return Dataflow(train_loader, val_loader, list(splits.classes), splits.train.class_counts())


def initialize(
    experiment: Experiment,
    config: dict[str, Any],
    classes: list[str],
    class_counts: list[int],
    device: torch.device,
    steps_per_epoch: int,
    channels_last: bool,
    sample: torch.Tensor | None = None,
    init_from: str | None = None,
) -> tuple[torch.nn.Module, torch.nn.Module, torch.optim.Optimizer, Any]:
    """The model (on ``device``), loss, optimizer and scheduler, from the experiment's factories.

    ``init_from`` (a checkpoint or run directory) gives the model its weights: multi-stage training.
    A model whose output on ``sample`` (a few real images) is not ``(N, classes)`` logits is refused here.
    """
    model = experiment.factory("build_model", build_model)(config, len(classes))
    if init_from:
        load_initial_weights(model, init_from, classes)
    model = model.to(device)
    check_model_output(model, sample, len(classes))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    loss_fn = experiment.factory("build_loss", build_loss)(config, class_counts).to(device)
    optimizer = experiment.factory("build_optimizer", build_optimizer)(config, model)
    scheduler = experiment.factory("build_scheduler", build_scheduler)(config, optimizer, steps_per_epoch)
    if len(group_learning_rates(optimizer)) > 1:  # layer_decay / head_lr_scale / no decay on norms and biases
        logger.info("parameter groups:\n" + describe_groups(optimizer.param_groups))
    return model, loss_fn, optimizer, scheduler


def create_engines(
    model: torch.nn.Module,
    loss_fn: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    classes: list[str],
    settings: RunConfig,
) -> Engines:
    """The trainer (with MixUp/CutMix and EMA when set) and the evaluator with the validation metrics."""
    augmentation, update, compiled = settings.augmentation, settings.update, settings.speed.compile
    mix = build_batch_transform(len(classes), augmentation.mixup_alpha, augmentation.cutmix_alpha)
    freeze_epochs = settings.training.freeze_epochs
    freezing = freeze_epochs > 0  # DDP must then expect parameters without gradients
    trainer = create_trainer(
        compile_model(distributed.distributed_model(model, device, freezing), compiled),
        optimizer,
        loss_fn,
        device,
        amp=update.amp,
        grad_clip=update.grad_clip,
        accumulation_steps=update.accumulation_steps,
        channels_last=update.channels_last,
        batch_transform=mix,
    )
    freeze = attach_freeze(trainer, model, freeze_epochs)  # freeze_epochs: the head alone first
    ema = attach_ema(trainer, model, update.ema_decay)  # validation and the best checkpoint use EMA weights
    eval_model = ema.ema_model if ema is not None else model
    tta = parse_modes(settings.validation.tta)
    validated = TTAModel(eval_model, tta, settings.validation.tta_scales) if tta else eval_model  # opt-in
    evaluator = create_evaluator(
        compile_model(validated, compiled), device, amp=trainer.state.amp, channels_last=update.channels_last
    )
    if compiled:
        FirstIterationTime("training").attach(trainer)
        FirstIterationTime("validation").attach(evaluator)
    attach_validation_metrics(evaluator, classes, loss_fn, settings.validation.f1_weights, device)
    return Engines(trainer, evaluator, eval_model, ema, freeze)


def create_checkpointers(
    to_save: dict[str, Any],
    engines: Engines,
    classes: list[str],
    config: dict[str, Any],
    settings: RunConfig,
    checkpoint_dir: Path,
) -> Checkpointers:
    """The best checkpoint (``eval_model``), early stopping, ``last.pt`` (``to_save`` and these) and StopAt.

    ``to_save`` holds what the run's own objects are (model, optimizer, ...); the checkpointers'
    state is added here, so a resumed run restores them too.
    """
    trainer, evaluator, validation = engines.trainer, engines.evaluator, settings.validation
    metric = validation.checkpoint_metric

    def meta() -> dict[str, Any]:
        score = float(evaluator.state.metrics.get(metric, math.nan))
        return {"epoch": trainer.state.epoch, "metric": metric, "score": score}

    best_to_save = {
        "model": engines.eval_model,
        "classes": Value(classes),
        "config": Value(config),
        "meta": Value(getter=meta),
    }
    best = best_checkpointer(best_to_save, checkpoint_dir, metric, validation.n_saved, trainer)
    to_save = {**to_save, "best_checkpointer": best}
    if trainer.state.scaler is not None:
        to_save["scaler"] = trainer.state.scaler
    if engines.ema is not None:
        to_save["ema_model"] = engines.ema
    if engines.freeze is not None:
        to_save["freeze_backbone"] = engines.freeze
    early_stopping = None
    if validation.patience is not None:
        score = metric_score(metric)
        early_stopping = EarlyStopping(patience=validation.patience, score_function=score, trainer=trainer)
        to_save["early_stopping"] = early_stopping
    last = last_checkpointer(to_save, checkpoint_dir)
    keys = settings.bookkeeping
    stop_at = StopAt(keys.stop_after_epoch, keys.stop_after_iteration, last)
    return Checkpointers(best, last, to_save, early_stopping, stop_at)


def build_run(experiment: Experiment, resume_path: Path | None = None) -> Run:
    """Assemble data, model, engines and handlers for ``experiment`` (nothing runs yet).

    The run directory is claimed first (a second run with the same name refuses); if anything
    fails before the run is built, the directory is removed again when this run created it.
    """
    settings = RunConfig.from_dict(experiment.config)
    claim = claim_run_dir(settings.bookkeeping, experiment.name, resume_path)
    try:
        return _assemble(experiment, settings, claim, resuming=resume_path is not None)
    except BaseException:
        if resume_path is None:
            claim.discard()
        else:
            claim.release()
        raise


def run_config(experiment: Experiment, run_dir: Path, classes: list[str]) -> dict[str, Any]:
    """The config a run saves: the experiment's, with the run's name, experiment file, overrides and classes."""
    # The experiment file is recorded so `predict` can rebuild a model the experiment defines itself.
    experiment_file = str(experiment.path) if experiment.path else None
    return {
        **experiment.config,
        "name": run_dir.name,
        "experiment": experiment_file,
        "overrides": dict(experiment.overrides),  # with "experiment": `train runs/NAME/config.json` re-runs it
        "classes": classes,
        "experiment_factories": sorted(experiment.factories),  # predict: needs --experiment?
    }


def _assemble(experiment: Experiment, settings: RunConfig, claim: RunDirClaim, resuming: bool) -> Run:
    if distributed.is_main_process() and remove_partial_writes(claim.run_dir):  # safe: the run dir is ours
        logger.info(f"removed half-written checkpoint files of a killed run in {claim.run_dir / 'checkpoints'}")
    device = distributed.process_device(resolve_device(settings.update.device))
    configure_cuda(device)
    seed_everything(settings.update.seed)
    dataflow = get_dataflow(experiment, settings, device)
    processes = idist.get_nproc_per_node()
    threads = configure_threads(settings.speed.threads, dataflow.train_loader.num_workers, processes)
    thread_counts = thread_candidates(settings.speed.threads, threads, processes)  # [] when the user chose
    config = run_config(experiment, claim.run_dir, dataflow.classes)
    check_data_keys(settings, dataflow.classes)  # checkpoint_metric, f1_weights, focal_alpha, class_weights
    steps_per_epoch = len(dataflow.train_loader)
    model, loss_fn, optimizer, scheduler = initialize(
        experiment, config, dataflow.classes, dataflow.class_counts, device, steps_per_epoch,
        settings.update.channels_last, first_images(dataflow.val_loader.dataset, device),
        init_from=None if resuming else settings.training.init_from,  # a resumed run has its own weights
    )
    engines = create_engines(model, loss_fn, optimizer, device, dataflow.classes, settings)
    amp = engines.trainer.state.amp  # what really runs on this device (config.json, checkpoints, results.json)
    config.update(amp=amp)
    settings = replace(settings, update=replace(settings.update, amp=amp))
    history: list[dict[str, Any]] = []
    wandb_run_id = Value()
    to_save = {
        "model": model,
        "optimizer": optimizer,
        "trainer": engines.trainer,
        "rng": RNGState(),
        "classes": Value(dataflow.classes),
        "config": Value(config),
        "wandb_run_id": wandb_run_id,
        "history": Value(getter=lambda: history),  # resume() refills this list in place
        "train_size": Value(len(dataflow.train_loader.dataset)),  # type: ignore[arg-type]  # check_same_run
        # the epoch's running sums: a resumed epoch's train_loss covers the whole epoch
        "train_stats": TrainStats(settings.bookkeeping.log_every, optimizer),
        **({"scheduler": scheduler} if scheduler is not None else {}),
    }
    if device.type == "cpu" and len(thread_counts) > 1:  # on a GPU the threads only launch kernels
        to_save["thread_tuner"] = ThreadTuner(thread_counts)
        to_save["thread_tuner"].attach(engines.trainer)
    checkpoint_dir = claim.run_dir / "checkpoints"
    checkpointers = create_checkpointers(to_save, engines, dataflow.classes, config, settings, checkpoint_dir)
    run = Run(
        experiment=experiment,
        config=config,
        settings=settings,
        name=claim.run_dir.name,
        run_dir=claim.run_dir,
        claim=claim,
        device=device,
        classes=dataflow.classes,
        model=model,
        loss_fn=loss_fn,
        optimizer=optimizer,
        scheduler=scheduler,
        trainer=engines.trainer,
        evaluator=engines.evaluator,
        train_loader=dataflow.train_loader,
        val_loader=dataflow.val_loader,
        best_checkpointer=checkpointers.best,
        last_checkpointer=checkpointers.last,
        to_save=checkpointers.to_save,
        early_stopping=checkpointers.early_stopping,
        stop_at=checkpointers.stop_at,
        wandb_run_id=wandb_run_id,
        history=history,
    )
    distributed.attach_buffer_sync(run.trainer, [model, engines.eval_model])
    attach_end_of_epoch(run)
    return run


END_OF_EPOCH_ORDER = (
    "progress",  # the epoch's last progress line (no terminal), before the summary line that validation logs
    "train_stats",  # train_loss/train_acc read from the device; NaN/Inf stops here, before anything is saved
    "validation",  # the evaluator runs; the epoch's record is appended to history.json
    "best_checkpoint",  # on the evaluator's COMPLETED, so inside "validation"
    "early_stopping",  # likewise, after the best checkpoint
    "scheduler",  # an epoch-interval scheduler steps
    "last_checkpoint",  # last.pt holds the epoch's history, best checkpoint and scheduler state
    "stop_at",  # --stop_after_epoch: stop once all of the above ran
)
"""The order the end-of-epoch handlers fire in; pictures and ``train(attach=...)`` come after them."""


def attach_end_of_epoch(run: Run) -> None:
    """Attach the handlers every run has, in :data:`END_OF_EPOCH_ORDER` (Ignite calls them in the order added)."""
    trainer, evaluator, settings = run.trainer, run.evaluator, run.settings
    clock = attach_epoch_clock(trainer, run.train_loader, settings.update.seed)
    attach_progress(run)
    run.to_save["train_stats"].attach(trainer)
    trainer.add_event_handler(Events.EPOCH_COMPLETED, validate_epoch, run, clock)
    evaluator.add_event_handler(Events.COMPLETED, run.best_checkpointer)
    if distributed.is_main_process():  # checkpoints/best.pt: a copy of the best file under a stable name
        StableBest(run.best_checkpointer, run.checkpoint_dir).attach(evaluator)
    if run.early_stopping is not None:
        evaluator.add_event_handler(Events.COMPLETED, run.early_stopping)
    if run.scheduler is not None:
        SchedulerStep(run.scheduler, settings.training.scheduler_interval).attach(trainer)
    trainer.add_event_handler(Events.EPOCH_COMPLETED, run.last_checkpointer)
    run.stop_at.attach(trainer)


def attach_progress(run: Run) -> None:
    """On a terminal, Ignite's progress bar; otherwise (a log file, CI, ``| tee``) a :class:`ProgressLog`
    line every 30 s and at the epoch's end, so before the epoch's summary line. Main process only."""
    if not distributed.is_main_process():
        return
    if sys.stderr.isatty() and not os.environ.get("CI"):
        from ignite.handlers import ProgressBar

        ProgressBar(persist=False).attach(run.trainer, metric_names=["train_loss", "train_acc"])
    else:
        fold, folds = run.config.get("fold"), run.config.get("folds")
        prefix = f"fold {fold} of {folds}  " if folds is not None else ""
        run.progress = ProgressLog(prefix=prefix, processes=idist.get_world_size())
        run.progress.attach(run.trainer)


def attach_epoch_clock(trainer: Engine, train_loader: DataLoader, seed: int) -> dict[str, float]:
    """At each epoch's start: reseed the loader's shuffle for that epoch and note the time and iteration."""
    clock: dict[str, float] = {}

    @trainer.on(Events.EPOCH_STARTED)
    def _start_epoch(engine: Engine) -> None:
        reseed_for_epoch(train_loader, seed, engine.state.epoch)
        clock["start"] = time.perf_counter()
        clock["first_iteration"] = engine.state.iteration

    return clock


def validate_epoch(engine: Engine, run: Run, clock: dict[str, float]) -> None:
    """Run the evaluator, append the epoch's record to ``run.history`` (and history.json) and log it."""
    train_seconds = time.perf_counter() - clock["start"]
    iterations = engine.state.iteration - clock["first_iteration"]
    start = time.perf_counter()
    run.evaluator.run(run.val_loader)
    record: dict[str, Any] = {"epoch": engine.state.epoch, "iteration": engine.state.iteration}
    record.update(scalar_metrics(engine.state.metrics))
    record.update(scalar_metrics(run.evaluator.state.metrics))
    record["lr"] = current_lr(run.optimizer)
    groups = group_learning_rates(run.optimizer)  # lr/NAME of each parameter group, when several
    record.update(groups)
    record["train_seconds"] = train_seconds
    record["train_samples"] = iterations * run.settings.training.batch_size
    record["val_seconds"] = time.perf_counter() - start
    run.history.append(record)
    if distributed.is_main_process():
        write_json_atomic(run.run_dir / "history.json", run.history)
    shown = epoch_log_names(run.settings.validation.checkpoint_metric)
    logger.info(
        f"epoch {engine.state.epoch}/{engine.state.max_epochs}  "
        + "  ".join(f"{k} {record[k]:.4g}" for k in shown if k in record)
        + f"  ({train_seconds:.1f} s train, {record['val_seconds']:.1f} s val)"
    )
    if groups:
        logger.info("  lr " + ", ".join(f"{name[3:]} {lr:.3g}" for name, lr in groups.items()))


def epoch_log_names(checkpoint_metric: str) -> tuple[str, ...]:
    """The epoch line's metrics: :data:`EPOCH_LOG_NAMES`, plus the metric that picks the checkpoint when it
    is not among them (val_score, val_f1/CLASS), so the line shows why an epoch became the best one."""
    if checkpoint_metric in EPOCH_LOG_NAMES:
        return EPOCH_LOG_NAMES
    return (*EPOCH_LOG_NAMES[:-1], checkpoint_metric, EPOCH_LOG_NAMES[-1])


def closing_text(results: dict[str, Any]) -> str:
    """The run's last line: the checkpoint metric of the kept best epoch first, then that epoch's val_acc.

    >>> closing_text({"checkpoint_metric": "val_score", "best_score": 2.62, "best_epoch": 2,
    ...               "best_val_acc": 0.625, "run_dir": "runs/x"})
    'done: best val_score 2.62 at epoch 2 (val_acc 0.625); run directory runs/x'
    """
    metric, score = results.get("checkpoint_metric", "val_acc"), results.get("best_score")
    if score is None:
        return f"done: no validation; run directory {results['run_dir']}"
    text = f"best {metric} {score:.4g} at epoch {results['best_epoch']}"
    if metric != "val_acc" and results.get("best_val_acc") is not None:
        text += f" (val_acc {results['best_val_acc']:.4g})"
    return f"done: {text}; run directory {results['run_dir']}"


def _attach_pictures(run: Run) -> None:
    """The run's pictures (rank 0, after W&B has started)."""
    pictures, data = run.settings.pictures, run.settings.data
    attach_pictures(
        run.trainer,
        run.evaluator,
        run.model,
        run.classes,
        run.run_dir,
        run.val_loader,
        lambda: run.history,
        run.settings.validation.checkpoint_metric,
        wandb_logging.picture_log(run.wandb_logger),
        plots=pictures.plots,
        graph=pictures.graph,
        gallery_every=pictures.gallery_every,
        gallery_size=pictures.gallery_size,
        watch=pictures.watch,
        watch_every=pictures.watch_every,
        title=run.name,
        data_dir=data.data_dir,
        image_size=data.image_size,
        gradcam=run.to_save["model"] if pictures.gradcam else None,  # Grad-CAM of the evaluated model
        train_batch_title=augment_title(run.settings.augmentation),
    )


def resume(run: Run, path: Path) -> None:
    """Restore every object of ``run.to_save`` from the ``last`` checkpoint at ``path``."""
    checkpoint = load_checkpoint(path)
    saved_classes = checkpoint.get("classes")
    if saved_classes is not None and list(saved_classes) != run.classes:
        raise UserError(f"{path} was trained on classes {list(saved_classes)}, but the data has {run.classes}")
    load_model_state(run.model, checkpoint["model"], str(path))
    missing = sorted(k for k in run.to_save if k not in ("model", *NEWER_KEYS) and k not in checkpoint)
    if missing:
        raise UserError(
            f"{path} cannot resume this run: it has no {', '.join(missing)} (was it saved with other settings?)"
        )
    longer = check_same_run(run, checkpoint)
    to_load = {k: v for k, v in run.to_save.items() if k != "model" and k in checkpoint}  # NEWER_KEYS
    scheduler_state = run.scheduler.state_dict() if run.scheduler is not None else None  # built for --epochs
    Checkpoint.load_objects(to_load=to_load, checkpoint={k: checkpoint[k] for k in to_load})
    run.history[:] = run.to_save["history"].value  # in place: the history Value reads this list
    if longer:
        run.trainer.state.max_epochs = run.settings.training.epochs  # else Ignite sees a finished run and starts over
        recomputed = scheduler_state is not None and lengthen_schedule(run.scheduler, scheduler_state)
        logger.info(
            f"training longer: --epochs={run.settings.training.epochs}, the checkpoint's {longer}"
            + ("; the learning-rate schedule is recomputed for the new length" if recomputed else "")
        )
    iteration_in_epoch = run.trainer.state.iteration % len(run.train_loader)
    if iteration_in_epoch:
        run.train_loader.sampler.skip(iteration_in_epoch * run.train_loader.batch_size)  # type: ignore[attr-defined]  # build_train_loader's sampler (data/loaders.py) has skip
    logger.info(
        f"resumed {run.name} from {path} at epoch {run.trainer.state.epoch}, iteration {run.trainer.state.iteration}"
    )


NEWER_KEYS = ("train_size", "train_stats", "thread_tuner")
"""Entries of last.pt that older checkpoints lack: a resume goes on without them."""

SAME_RUN_KEYS = ("batch_size", "accumulation_steps")
"""Config keys a resumed run must share with its checkpoint: the epoch length and the schedule depend on them."""


def check_same_run(run: Run, checkpoint: dict[str, Any]) -> int:
    """Refuse a resume whose schedule would differ from the checkpoint's; the checkpoint's epochs when
    ``--epochs`` is larger (the one documented change: "train longer"), else 0.

    The trainer's state holds the epoch length and the scheduler its total steps, both computed from
    batch_size, accumulation_steps and the data size: a resume that changes them would train the
    resumed epoch on part of the data (or twice on some of it) and break the schedule.
    """
    saved = checkpoint.get("config") or {}
    for key in SAME_RUN_KEYS:
        if key in saved and saved[key] != run.config[key]:
            raise UserError(
                f"--{key}={run.config[key]} differs from the checkpoint's {saved[key]}: "
                f"resume with --{key}={saved[key]}, or start a new run (--name=...)"
            )
    train_size = len(run.train_loader.dataset)  # type: ignore[arg-type]
    saved_size = checkpoint.get("train_size")
    if saved_size is not None and saved_size != train_size:
        raise UserError(
            f"the training data has {train_size} images, the checkpoint's {saved_size}: resume with the data "
            "it was trained on, or start a new run (--name=...)"
        )
    state = checkpoint.get("trainer") or {}
    epoch_length, iteration = state.get("epoch_length"), int(state.get("iteration", 0))
    if epoch_length and epoch_length != len(run.train_loader):
        raise UserError(
            f"the training data gives {len(run.train_loader)} batches per epoch, the checkpoint's {epoch_length}: "
            "resume with the data and --batch_size it was trained with, or start a new run (--name=...)"
        )
    started = -(-iteration // epoch_length) if epoch_length else 0  # the epochs done, and one begun
    epochs = run.settings.training.epochs
    if epochs < started:
        raise UserError(
            f"--epochs={epochs} is below the {started} epochs the checkpoint has trained: resume with "
            f"--epochs={started} or more, or start a new run (--name=...)"
        )
    saved_epochs = saved.get("epochs")
    return int(saved_epochs) if isinstance(saved_epochs, int) and epochs > saved_epochs else 0


def results_of(run: Run, status: str) -> dict[str, Any]:
    """What results.json holds. The best epoch is the one whose checkpoint is kept (on tied scores too)."""
    metric = run.settings.validation.checkpoint_metric
    best = kept_best_record(run.history, run.best_checkpointer, metric)
    samples = sum(r["train_samples"] for r in run.history)
    seconds = sum(r["train_seconds"] for r in run.history)
    best_path = run.best_checkpointer.last_checkpoint
    last_path = run.checkpoint_dir / LAST_CHECKPOINT
    return {
        "name": run.name,
        "status": status,
        "checkpoint_metric": metric,
        "best_score": best[metric] if best else None,
        "best_val_acc": best["val_acc"] if best else None,  # the best epoch's, not the highest over all epochs
        "best_epoch": best["epoch"] if best else None,
        "best_checkpoint": str(best_path) if best_path else None,
        "last_checkpoint": str(last_path) if last_path.is_file() else None,
        "epochs_completed": run.history[-1]["epoch"] if run.history else 0,
        "train_samples_per_second": samples / seconds if seconds > 0 else None,
        "val_acc": best["val_acc"] if best else None,
        "val_macro_f1": best.get("val_macro_f1") if best else None,
        "val_score": best.get("val_score") if best else None,
        "classes": run.classes,
        "device": str(run.device),
        "cpu_threads": torch.get_num_threads(),  # torch's intra-op threads (performance.configure_threads)
        "amp": run.settings.update.amp,
        "run_dir": str(run.run_dir),
        "wandb_dir": wandb_logging.run_files_dir(run.wandb_logger),
    }


def train(
    experiment: Experiment, attach: Callable[[Run], None] | None = None, resume_command: str | None = None
) -> dict[str, Any]:
    """Train ``experiment`` and return its results (also written to ``results.json``).

    ``attach(run)`` is called once everything is built (and resumed), before training starts:
    the place to add handlers of your own (a sweep's pruning callback, say). ``resume_command``
    is what the advice after a stop says continues the run (cv and sweep name their own command;
    default ``--resume=auto --name=NAME``).
    Exits the process with 130/143/129 after a SIGINT/SIGTERM/SIGHUP, 137 after a DataLoader worker died
    (a ``last`` checkpoint is saved first; see :mod:`ignite_fire.signals`).
    A second run with the same name refuses while this one runs (see :class:`RunDirClaim`).
    """
    keys = RunConfig.from_dict(experiment.config).bookkeeping
    name = None if keys.name is None else str(keys.name)  # --name=3 is a name too
    resume_path = find_resume_checkpoint(keys.resume, keys.output_dir, name)
    run = build_run(experiment, resume_path)
    run.resume_command = resume_command or f"--resume=auto --name={run.name}"
    try:
        finished = _prepare(run, resume_path, attach)
        if finished is not None:
            return finished
        status, exit_code = _fit(run)
        return _finish(run, status, exit_code)
    finally:
        run.claim.release()


def _prepare(run: Run, resume_path: Path | None, attach: Callable[[Run], None] | None) -> dict[str, Any] | None:
    """Resume, write config.json, start W&B and the pictures; the results when the run had already finished.

    A fresh run that fails here leaves no run directory behind (when it created it).
    """
    try:
        if resume_path is not None:
            resume(run, resume_path)
            state = run.trainer.state
            if state.epoch >= run.settings.training.epochs and state.iteration % len(run.train_loader) == 0:
                logger.info(f"run {run.name} already finished ({state.epoch} epochs); nothing to do")
                results_path = run.run_dir / "results.json"
                if results_path.exists():
                    return json.loads(results_path.read_text(encoding="utf-8"))
                return results_of(run, "finished")
        if distributed.is_main_process():  # checkpoints, files, W&B and pictures: rank 0 only
            write_json_atomic(run.run_dir / "config.json", run.config)
            if "wandb" in logger_names(run.settings.bookkeeping.loggers):
                engines = (run.trainer, run.evaluator, run.optimizer)
                keys = run.settings.bookkeeping
                run.wandb_logger = wandb_logging.attach_wandb(
                    run.config, keys, run.run_dir, run.name, run.wandb_run_id, *engines
                )
            _attach_pictures(run)  # graph, gallery, confusion matrix, train batch, curves, index.html; wandb.watch
            # metrics.csv and TensorBoard (after the pictures: TensorBoard reads them)
            attach_loggers(run.settings, run.run_dir, run.trainer, run.evaluator, run.optimizer, lambda: run.history)
        if attach is not None:
            attach(run)
    except BaseException:
        if resume_path is None:
            wandb_logging.finish(run.wandb_logger, {}, exit_code=1)
            run.claim.discard()
        raise
    return None


def _fit(run: Run) -> tuple[str, int]:
    """Run the trainer; returns the status and the exit code (results.json is written if it raises)."""
    interrupt = Interrupt(lambda engine: run.last_checkpointer(engine))
    interrupt.attach(run.trainer)
    fetching = FetchingBatch()
    fetching.attach(run.trainer)
    status = "finished"
    try:
        run.trainer.run(run.train_loader, max_epochs=run.settings.training.epochs)
        if run.stop_at.stopped:
            status = "stopped"
        elif run.early_stopping is not None and run.trainer.should_terminate:
            status = "early_stopped"
    except RuntimeError as error:
        lost = signals.lost_worker(error)  # SIGKILL (the OOM killer) to a worker: stop as after a signal
        if lost is None:
            _failed(run, error)
            raise
        signals.ignore_lost_workers()
        run.stop_cause = f"{lost}; out of memory? try a lower --num_workers or --batch_size"
        if fetching.now:  # the trainer waited for a batch: its state is whole, as between iterations
            run.last_checkpointer(run.trainer)
        if not (run.checkpoint_dir / LAST_CHECKPOINT).is_file():  # lost in a step or validation, before any
            _failed(run, error)
            message = f"{run.stop_cause}; nothing to resume yet: run again"
            raise UserError(message, signals.WORKER_LOST_EXIT_CODE) from error
        return "interrupted", signals.WORKER_LOST_EXIT_CODE
    except DiskFullError as error:
        _failed(run, error)
        if not (run.checkpoint_dir / LAST_CHECKPOINT).is_file():  # full at the first last.pt: nothing to resume
            raise
        raise DiskFullError(error.path, f"continue with {run.resume_command}") from error
    except BaseException as error:
        _failed(run, error)
        raise
    finally:
        interrupt.restore()
    if interrupt.signal is not None:
        run.stop_cause = signals.name(interrupt.signal)
        return "interrupted", interrupt.exit_code
    return status, 0


class FetchingBatch:
    """Whether the trainer is waiting for its next batch, where a lost DataLoader worker is usually
    noticed. Only there is the state whole (weights updated for exactly the iterations counted, no
    validation half done), so ``last.pt`` can be saved; PyTorch's SIGCHLD handler may also raise in
    the middle of a step or of validation, when the previous ``last.pt`` is the one to resume from."""

    def __init__(self) -> None:
        self.now = False

    def attach(self, trainer: Engine) -> None:
        trainer.add_event_handler(Events.GET_BATCH_STARTED, self._set, True)
        trainer.add_event_handler(Events.GET_BATCH_COMPLETED, self._set, False)

    def _set(self, engine: Engine, now: bool) -> None:
        self.now = now


def _failed(run: Run, error: BaseException) -> None:
    """results.json says "failed"; W&B is told."""
    exit_code = getattr(error, "exit_code", 1)
    if distributed.is_main_process():
        write_json_atomic(run.run_dir / "results.json", results_of(run, "failed"))
    wandb_logging.finish(run.wandb_logger, {}, exit_code=exit_code)


def _finish(run: Run, status: str, exit_code: int) -> dict[str, Any]:
    """Write results.json, give W&B the best model and the summary; exit with ``exit_code`` if not 0."""
    results = results_of(run, status)
    if distributed.is_main_process():
        write_json_atomic(run.run_dir / "results.json", results)
        if run.settings.pictures.plots:  # eco2: the final index.html links results.json and shows the run's status
            guarded("index.html", write_index)(run.run_dir, False, results["wandb_dir"])
    best_path = run.best_checkpointer.last_checkpoint
    if best_path is not None and status == "finished":
        wandb_logging.log_best_model(run.wandb_logger, Path(best_path), run.name, {"score": results["best_score"]})
    summary = {
        k: results[k] for k in ("best_val_acc", "best_epoch", "best_score", "val_macro_f1") if results[k] is not None
    }
    summary["status"] = status  # "interrupted" after SIGINT/SIGTERM, "stopped" after --stop_after_*
    wandb_logging.finish(run.wandb_logger, summary, exit_code=exit_code)
    if exit_code:
        cause = f" ({run.stop_cause})" if run.stop_cause else ""
        logger.info(
            f"{status}{cause}: saved {run.checkpoint_dir / LAST_CHECKPOINT}; "
            f"continue with {run.resume_command}"
        )
        raise SystemExit(exit_code)
    return results
