"""One training run, top to bottom: data, model, engines, handlers, resume, results.

:func:`build_run` assembles everything for an :class:`~ignite_fire.experiment.Experiment` from a
few builders, each returning plain objects (as in Ignite's ``examples/cifar10/main.py``)::

    settings = Settings.from_config(config)          # the config values read here, typed once
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
import secrets
import string
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ignite.distributed as idist
import torch
from ignite.engine import Engine, Events
from ignite.handlers import Checkpoint, EarlyStopping
from torch.utils.data import DataLoader

from ignite_fire import distributed
from ignite_fire.competition.init_from import load_initial_weights
from ignite_fire.config import check_data_keys, logger_names
from ignite_fire.data.cache import cache_splits
from ignite_fire.data.datasets import build_datasets
from ignite_fire.data.loaders import build_eval_loader, build_train_loader, reseed_for_epoch
from ignite_fire.data.mixing import build_batch_transform
from ignite_fire.data.transforms import build_transforms
from ignite_fire.devices import resolve_device, seed_everything
from ignite_fire.engines import create_evaluator, create_trainer
from ignite_fire.errors import UserError
from ignite_fire.experiment import Experiment
from ignite_fire.files import write_json_atomic
from ignite_fire.finetune import describe_groups, group_learning_rates
from ignite_fire.handlers import wandb_logging
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
from ignite_fire.handlers.train_stats import TrainStats
from ignite_fire.inference.tta import TTAModel, parse_modes
from ignite_fire.loggers import attach_loggers, train_scalars, val_scalars
from ignite_fire.losses import build_loss
from ignite_fire.metrics import attach_validation_metrics, scalar_metrics
from ignite_fire.models import build_model, check_model_output, first_images
from ignite_fire.optim import build_optimizer, build_scheduler
from ignite_fire.performance import compile_model, configure_cuda, configure_threads
from ignite_fire.pictures.attach import attach_pictures
from ignite_fire.pictures.guard import guarded
from ignite_fire.pictures.report import write_index
from ignite_fire.pictures.train_batch import augment_title
from ignite_fire.run_dir import RunDirClaim, find_resume_checkpoint, remove_partial_writes, run_name

logger = logging.getLogger("ignite_fire")

EPOCH_LOG_NAMES = ("train_loss", "train_acc", "val_loss", "val_acc", "val_macro_f1", "lr")


@dataclass(frozen=True)
class Settings:
    """The config values the training layer reads, each read and typed once (the experiment's
    own factories still receive the whole config: that is the experiment contract)."""

    epochs: int
    batch_size: int
    seed: int
    log_every: int
    device: str
    amp: str | bool
    grad_clip: float | None
    accumulation_steps: int
    channels_last: bool
    compile: bool
    ema_decay: float | None
    mixup_alpha: float
    cutmix_alpha: float
    f1_weights: dict[str, float] | None
    checkpoint_metric: str
    n_saved: int
    patience: int | None
    scheduler_interval: str
    stop_after_epoch: int | None
    stop_after_iteration: int | None
    freeze_epochs: int
    tta: tuple[str, ...]
    tta_scales: list[float]

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Settings:
        """The settings of a resolved config (every key is there, typed and in range: ignite_fire.config)."""
        return cls(
            epochs=config["epochs"],
            batch_size=config["batch_size"],
            seed=config["seed"],
            log_every=config["log_every"],
            device=config["device"],
            amp=config["amp"],
            grad_clip=config["grad_clip"],
            accumulation_steps=config["accumulation_steps"],
            channels_last=config["channels_last"],
            compile=config["compile"],
            ema_decay=config["ema_decay"],
            mixup_alpha=config["mixup_alpha"],
            cutmix_alpha=config["cutmix_alpha"],
            f1_weights=config["f1_weights"],
            checkpoint_metric=config["checkpoint_metric"],
            n_saved=config["n_saved"],
            patience=config["patience"],
            scheduler_interval=config["scheduler_interval"],
            stop_after_epoch=config["stop_after_epoch"],
            stop_after_iteration=config["stop_after_iteration"],
            freeze_epochs=config["freeze_epochs"],
            tta=parse_modes(config["tta"]),
            tta_scales=config["tta_scales"],
        )


@contextmanager
def config_errors(*keys: str) -> Iterator[None]:
    """A handler's ValueError (a bad argument) as a one-line UserError naming the config keys it came from."""
    try:
        yield
    except ValueError as error:
        raise UserError(f"{' / '.join('--' + k for k in keys)}: {error}") from error


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
    config: dict[str, Any]
    settings: Settings
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
    progress: ProgressLog | None = None  # the progress lines when stderr is not a terminal

    @property
    def checkpoint_dir(self) -> Path:
        return self.run_dir / "checkpoints"


def current_lr(optimizer: torch.optim.Optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


def claim_run_dir(config: dict[str, Any], experiment_name: str, resume_path: Path | None) -> RunDirClaim:
    """Name the run (``--name``, or the run ``resume_path`` belongs to) and claim its directory."""
    if resume_path is not None:
        run_dir = resume_path.parent.parent
        return RunDirClaim(str(run_dir.parent), run_dir.name, resuming=True)
    name = distributed.same_on_all_ranks(run_name(config, experiment_name))
    return RunDirClaim(config["output_dir"], name, resuming=False)


def get_dataflow(experiment: Experiment, config: dict[str, Any], batch_size: int, device: torch.device) -> Dataflow:
    """Transforms, datasets (decoded once with ``cache="memory"``) and this process's loaders.

    ``batch_size`` is the global batch; each process loads its share of it and of every epoch.
    """
    transforms = experiment.factory("build_transforms", build_transforms)(config)
    splits = experiment.factory("build_datasets", build_datasets)(config, transforms)
    splits, loader_options = cache_splits(experiment, splits, config, device)
    process_batch = distributed.process_batch_size(batch_size)
    shard = (idist.get_rank(), idist.get_world_size())
    train_loader = build_train_loader(
        splits.train, splits.train.targets, config, process_batch, *shard, **loader_options
    )
    val_loader = build_eval_loader(splits.val, config, process_batch, *shard, **loader_options)
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
    settings: Settings,
) -> Engines:
    """The trainer (with MixUp/CutMix and EMA when set) and the evaluator with the validation metrics."""
    with config_errors("mixup_alpha", "cutmix_alpha"):
        mix = build_batch_transform(len(classes), settings.mixup_alpha, settings.cutmix_alpha)
    freezing = settings.freeze_epochs > 0  # DDP must then expect parameters without gradients
    trainer = create_trainer(
        compile_model(distributed.distributed_model(model, device, freezing), settings.compile),
        optimizer,
        loss_fn,
        device,
        amp=settings.amp,
        grad_clip=settings.grad_clip,
        accumulation_steps=settings.accumulation_steps,
        channels_last=settings.channels_last,
        batch_transform=mix,
    )
    freeze = attach_freeze(trainer, model, settings.freeze_epochs)  # freeze_epochs: the head alone first
    with config_errors("ema_decay"):
        ema = attach_ema(trainer, model, settings.ema_decay)  # validation and the best checkpoint use EMA weights
    eval_model = ema.ema_model if ema is not None else model
    validated = TTAModel(eval_model, settings.tta, settings.tta_scales) if settings.tta else eval_model  # opt-in
    evaluator = create_evaluator(
        compile_model(validated, settings.compile), device, amp=trainer.state.amp, channels_last=settings.channels_last
    )
    if settings.compile:
        FirstIterationTime("training").attach(trainer)
        FirstIterationTime("validation").attach(evaluator)
    attach_validation_metrics(evaluator, classes, loss_fn, settings.f1_weights, device)
    return Engines(trainer, evaluator, eval_model, ema, freeze)


def create_checkpointers(
    to_save: dict[str, Any],
    engines: Engines,
    classes: list[str],
    config: dict[str, Any],
    settings: Settings,
    checkpoint_dir: Path,
) -> Checkpointers:
    """The best checkpoint (``eval_model``), early stopping, ``last.pt`` (``to_save`` and these) and StopAt.

    ``to_save`` holds what the run's own objects are (model, optimizer, ...); the checkpointers'
    state is added here, so a resumed run restores them too.
    """
    trainer, evaluator, metric = engines.trainer, engines.evaluator, settings.checkpoint_metric

    def meta() -> dict[str, Any]:
        score = float(evaluator.state.metrics.get(metric, math.nan))
        return {"epoch": trainer.state.epoch, "metric": metric, "score": score}

    best_to_save = {
        "model": engines.eval_model,
        "classes": Value(classes),
        "config": Value(config),
        "meta": Value(getter=meta),
    }
    best = best_checkpointer(best_to_save, checkpoint_dir, metric, settings.n_saved, trainer)
    to_save = {**to_save, "best_checkpointer": best}
    if trainer.state.scaler is not None:
        to_save["scaler"] = trainer.state.scaler
    if engines.ema is not None:
        to_save["ema_model"] = engines.ema
    if engines.freeze is not None:
        to_save["freeze_backbone"] = engines.freeze
    early_stopping = None
    if settings.patience is not None:
        early_stopping = EarlyStopping(patience=settings.patience, score_function=metric_score(metric), trainer=trainer)
        to_save["early_stopping"] = early_stopping
    last = last_checkpointer(to_save, checkpoint_dir)
    stop_at = StopAt(settings.stop_after_epoch, settings.stop_after_iteration, last)
    return Checkpointers(best, last, to_save, early_stopping, stop_at)


def build_run(experiment: Experiment, resume_path: Path | None = None) -> Run:
    """Assemble data, model, engines and handlers for ``experiment`` (nothing runs yet).

    The run directory is claimed first (a second run with the same name refuses); if anything
    fails before the run is built, the directory is removed again when this run created it.
    """
    settings = Settings.from_config(experiment.config)
    claim = claim_run_dir(experiment.config, experiment.name, resume_path)
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
    config = {**experiment.config, "name": run_dir.name, "experiment": experiment_file}
    config["overrides"] = dict(experiment.overrides)  # with "experiment": `train runs/NAME/config.json` re-runs it
    config["classes"] = classes
    return config


def _assemble(experiment: Experiment, settings: Settings, claim: RunDirClaim, resuming: bool) -> Run:
    if distributed.is_main_process() and remove_partial_writes(claim.run_dir):  # safe: the run dir is ours
        logger.info(f"removed half-written checkpoint files of a killed run in {claim.run_dir / 'checkpoints'}")
    device = distributed.process_device(resolve_device(settings.device))
    configure_cuda(device)
    seed_everything(settings.seed)
    dataflow = get_dataflow(experiment, experiment.config, settings.batch_size, device)
    configure_threads(experiment.config["threads"], dataflow.train_loader.num_workers, idist.get_nproc_per_node())
    config = run_config(experiment, claim.run_dir, dataflow.classes)
    check_data_keys(config, dataflow.classes)  # checkpoint_metric, f1_weights, focal_alpha, class_weights
    steps_per_epoch = len(dataflow.train_loader)
    model, loss_fn, optimizer, scheduler = initialize(
        experiment, config, dataflow.classes, dataflow.class_counts, device, steps_per_epoch,
        settings.channels_last, first_images(dataflow.val_loader.dataset, device),
        init_from=None if resuming else config["init_from"],  # a resumed run has its own weights
    )
    engines = create_engines(model, loss_fn, optimizer, device, dataflow.classes, settings)
    config["amp"] = engines.trainer.state.amp  # what really runs on this device
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
        **({"scheduler": scheduler} if scheduler is not None else {}),
    }
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
    clock = attach_epoch_clock(trainer, run.train_loader, settings.seed)
    TrainStats(settings.log_every, run.optimizer).attach(trainer)
    trainer.add_event_handler(Events.EPOCH_COMPLETED, validate_epoch, run, clock)
    evaluator.add_event_handler(Events.COMPLETED, run.best_checkpointer)
    if distributed.is_main_process():  # checkpoints/best.pt: a copy of the best file under a stable name
        StableBest(run.best_checkpointer, run.checkpoint_dir).attach(evaluator)
    if run.early_stopping is not None:
        evaluator.add_event_handler(Events.COMPLETED, run.early_stopping)
    if run.scheduler is not None:
        SchedulerStep(run.scheduler, settings.scheduler_interval).attach(trainer)
    trainer.add_event_handler(Events.EPOCH_COMPLETED, run.last_checkpointer)
    run.stop_at.attach(trainer)
    if not distributed.is_main_process():
        return
    if sys.stderr.isatty() and not os.environ.get("CI"):
        from ignite.handlers import ProgressBar

        ProgressBar(persist=False).attach(trainer, metric_names=["train_loss", "train_acc"])
    else:  # a log file, CI, `| tee`: a line every 30 s instead of a bar
        fold, folds = run.config.get("fold"), run.config.get("folds")
        prefix = f"fold {fold} of {folds}  " if folds is not None else ""
        run.progress = ProgressLog(prefix=prefix, processes=idist.get_world_size())
        run.progress.attach(trainer)


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
    record["train_samples"] = iterations * run.settings.batch_size
    record["val_seconds"] = time.perf_counter() - start
    run.history.append(record)
    if distributed.is_main_process():
        write_json_atomic(run.run_dir / "history.json", run.history)
    logger.info(
        f"epoch {engine.state.epoch}/{engine.state.max_epochs}  "
        + "  ".join(f"{k} {record[k]:.4g}" for k in epoch_log_names(run.settings.checkpoint_metric) if k in record)
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


def _attach_wandb(run: Run) -> None:
    """Start the W&B run and log train scalars every ``log_every`` iterations and validation every epoch."""
    run_id = run.wandb_run_id.value
    if run_id is None:
        run_id = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))
        run.wandb_run_id.value = run_id
    wandb_logger = wandb_logging.start_wandb(run.config, run.run_dir, run.name, run_id)
    run.wandb_logger = wandb_logger
    if wandb_logger is None:
        return

    train_values = wandb_logging.LogScalars(wandb_logger, lambda e: train_scalars(e, run.optimizer), run.trainer)
    val_values = wandb_logging.LogScalars(wandb_logger, lambda e: val_scalars(e, run.trainer), run.trainer)
    wandb_logger.attach(run.trainer, train_values, Events.ITERATION_COMPLETED(every=run.settings.log_every))
    wandb_logger.attach(run.evaluator, val_values, Events.COMPLETED)


def _attach_pictures(run: Run) -> None:
    """The run's pictures (rank 0, after W&B has started), from the config's plain values."""
    config = run.config
    attach_pictures(
        run.trainer,
        run.evaluator,
        run.model,
        run.classes,
        run.run_dir,
        run.val_loader,
        lambda: run.history,
        config["checkpoint_metric"],
        run.wandb_logger,
        plots=config["plots"],
        graph=config["graph"],
        gallery_every=config["gallery_every"],
        gallery_size=config["gallery_size"],
        watch=config["watch"],
        watch_every=config["watch_every"],
        title=run.name,
        data_dir=config["data_dir"],
        image_size=config["image_size"],
        gradcam=run.to_save["model"] if config["gradcam"] else None,  # Grad-CAM of the evaluated model
        train_batch_title=augment_title(config),
    )


def resume(run: Run, path: Path) -> None:
    """Restore every object of ``run.to_save`` from the ``last`` checkpoint at ``path``."""
    checkpoint = load_checkpoint(path)
    saved_classes = checkpoint.get("classes")
    if saved_classes is not None and list(saved_classes) != run.classes:
        raise UserError(f"{path} was trained on classes {list(saved_classes)}, but the data has {run.classes}")
    load_model_state(run.model, checkpoint["model"], str(path))
    missing = sorted(k for k in run.to_save if k != "model" and k not in checkpoint)
    if missing:
        raise UserError(
            f"{path} cannot resume this run: it has no {', '.join(missing)} (was it saved with other settings?)"
        )
    to_load = {k: v for k, v in run.to_save.items() if k != "model"}
    Checkpoint.load_objects(to_load=to_load, checkpoint={k: checkpoint[k] for k in to_load})
    run.history[:] = run.to_save["history"].value  # in place: the history Value reads this list
    iteration_in_epoch = run.trainer.state.iteration % len(run.train_loader)
    if iteration_in_epoch:
        run.train_loader.sampler.skip(iteration_in_epoch * run.train_loader.batch_size)
    logger.info(
        f"resumed {run.name} from {path} at epoch {run.trainer.state.epoch}, iteration {run.trainer.state.iteration}"
    )


def results_of(run: Run, status: str) -> dict[str, Any]:
    """What results.json holds. The best epoch is the one whose checkpoint is kept (on tied scores too)."""
    metric = run.settings.checkpoint_metric
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
        "amp": run.config["amp"],
        "run_dir": str(run.run_dir),
        "wandb_dir": wandb_logging.run_files_dir(run.wandb_logger),
    }


def train(experiment: Experiment, attach: Callable[[Run], None] | None = None) -> dict[str, Any]:
    """Train ``experiment`` and return its results (also written to ``results.json``).

    ``attach(run)`` is called once everything is built (and resumed), before training starts:
    the place to add handlers of your own (a sweep's pruning callback, say).
    Exits the process with 130/143 after a SIGINT/SIGTERM (a ``last`` checkpoint is saved first).
    A second run with the same name refuses while this one runs (see :class:`RunDirClaim`).
    """
    config = experiment.config
    resume_path = find_resume_checkpoint(config["resume"], config["output_dir"], config["name"])
    run = build_run(experiment, resume_path)
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
            if state.epoch >= run.settings.epochs and state.iteration % len(run.train_loader) == 0:
                logger.info(f"run {run.name} already finished ({state.epoch} epochs); nothing to do")
                results_path = run.run_dir / "results.json"
                if results_path.exists():
                    return json.loads(results_path.read_text(encoding="utf-8"))
                return results_of(run, "finished")
        if distributed.is_main_process():  # checkpoints, files, W&B and pictures: rank 0 only
            write_json_atomic(run.run_dir / "config.json", run.config)
            if "wandb" in logger_names(run.config):
                _attach_wandb(run)
            _attach_pictures(run)  # graph, gallery, confusion matrix, train batch, curves, index.html; wandb.watch
            # metrics.csv and TensorBoard (after the pictures: TensorBoard reads them)
            attach_loggers(run.config, run.run_dir, run.trainer, run.evaluator, run.optimizer, lambda: run.history)
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
    status = "finished"
    try:
        run.trainer.run(run.train_loader, max_epochs=run.settings.epochs)
        if run.stop_at.stopped:
            status = "stopped"
        elif run.early_stopping is not None and run.trainer.should_terminate:
            status = "early_stopped"
    except BaseException as error:
        exit_code = getattr(error, "exit_code", 1)
        if distributed.is_main_process():
            write_json_atomic(run.run_dir / "results.json", results_of(run, "failed"))
        wandb_logging.finish(run.wandb_logger, {}, exit_code=exit_code)
        raise
    finally:
        interrupt.restore()
    if interrupt.signal is not None:
        return "interrupted", interrupt.exit_code
    return status, 0


def _finish(run: Run, status: str, exit_code: int) -> dict[str, Any]:
    """Write results.json, give W&B the best model and the summary; exit with ``exit_code`` if not 0."""
    results = results_of(run, status)
    if distributed.is_main_process():
        write_json_atomic(run.run_dir / "results.json", results)
        if run.config["plots"]:  # eco2: the final index.html links results.json and shows the run's status
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
        logger.info(
            f"{status}: saved {run.checkpoint_dir / LAST_CHECKPOINT}; continue with --resume=auto --name={run.name}"
        )
        raise SystemExit(exit_code)
    return results
