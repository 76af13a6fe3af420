"""One training run, top to bottom: data, model, engines, handlers, resume, results.

:func:`build_run` assembles everything for an :class:`~ignite_fire.experiment.Experiment`;
:func:`train` runs it and writes ``results.json``. The run directory ``{output_dir}/{name}`` holds::

    config.json            the resolved config
    checkpoints/           best_checkpoint_*.pt (model, classes, config) and last.pt (everything)
    history.json           one entry per epoch: train/val metrics, lr, times
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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import ignite.distributed as idist
import torch
from ignite.engine import Engine, Events
from ignite.handlers import Checkpoint, EarlyStopping
from ignite.utils import manual_seed
from torch.utils.data import DataLoader

from ignite_fire import distributed
from ignite_fire.data.cache import cache_splits
from ignite_fire.data.datasets import build_datasets
from ignite_fire.data.loaders import build_eval_loader, build_train_loader, reseed_for_epoch
from ignite_fire.data.mixing import build_batch_transform
from ignite_fire.data.transforms import build_transforms
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
    best_record,
    last_checkpointer,
    load_checkpoint,
    load_model_state,
    metric_score,
)
from ignite_fire.handlers.ema import attach_ema
from ignite_fire.handlers.first_iteration_time import FirstIterationTime
from ignite_fire.handlers.freeze_backbone import attach_freeze, freeze_needs_unused
from ignite_fire.handlers.interrupt import Interrupt
from ignite_fire.handlers.rng_state import RNGState
from ignite_fire.handlers.scheduler_step import SchedulerStep
from ignite_fire.handlers.stop_at import StopAt
from ignite_fire.handlers.train_stats import TrainStats
from ignite_fire.losses import build_loss
from ignite_fire.metrics import attach_validation_metrics, scalar_metrics
from ignite_fire.models import build_model
from ignite_fire.optim import build_optimizer, build_scheduler
from ignite_fire.performance import compile_model, configure_cuda
from ignite_fire.train_batch import TrainBatchPicture, augment_title
from ignite_fire.tta import TTAModel, parse_modes
from ignite_fire.visuals import attach_visuals

logger = logging.getLogger("ignite_fire")

EPOCH_LOG_NAMES = ("train_loss", "train_acc", "val_loss", "val_acc", "val_macro_f1", "lr")


@dataclass
class Run:
    """Everything one training run is made of; handlers may be attached before :func:`train` runs it."""

    experiment: Experiment
    config: dict[str, Any]
    name: str
    run_dir: Path
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
    early_stopping: EarlyStopping | None = None
    stop_at: StopAt | None = None
    wandb_logger: Any = None
    wandb_run_id: Value = field(default_factory=Value)
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def checkpoint_dir(self) -> Path:
        return self.run_dir / "checkpoints"


def resolve_device(spec: str) -> torch.device:
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError as error:
        raise UserError(f"--device={spec!r} is not a device: use auto, cpu, cuda or cuda:N") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device={spec} but CUDA is not available here: use --device=cpu or --device=auto")
    return device


def run_name(config: dict[str, Any], experiment_name: str) -> str:
    if config.get("name"):
        return str(config["name"])
    return f"{experiment_name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def prepare_run_dir(output_dir: str, name: str, resuming: bool) -> Path:
    """``{output_dir}/{name}``, created and checked writable; an existing run needs ``--resume``."""
    run_dir = Path(output_dir).expanduser() / name
    if not distributed.is_main_process():
        return run_dir  # rank 0 creates and checks it
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as error:
        raise UserError(
            f"output directory {run_dir} cannot be written ({error.strerror}): pass --output_dir=PATH"
        ) from error
    if not resuming and (run_dir / "checkpoints" / LAST_CHECKPOINT).exists():
        raise UserError(f"{run_dir} already holds a run: pass --resume=auto to continue it, or choose another --name")
    return run_dir


def find_resume_checkpoint(config: dict[str, Any]) -> Path | None:
    resume = config.get("resume")
    if resume in (None, "", "none", "None"):
        return None
    if resume == "auto":
        if not config.get("name"):
            raise UserError("--resume=auto needs --name=RUN_NAME (the run to continue)")
        path = Path(config["output_dir"]).expanduser() / str(config["name"]) / "checkpoints" / LAST_CHECKPOINT
        if not path.exists():
            raise UserError(f"--resume=auto found no checkpoint at {path}; start without --resume")
        return path
    path = Path(resume).expanduser()
    if path.is_dir():
        path = path / "checkpoints" / LAST_CHECKPOINT if (path / "checkpoints").is_dir() else path / LAST_CHECKPOINT
    if not path.is_file():
        raise UserError(f"--resume={resume}: no checkpoint at {path}")
    return path


def current_lr(optimizer: torch.optim.Optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])


def build_run(experiment: Experiment, resume_path: Path | None = None) -> Run:
    """Assemble data, model, engines and handlers for ``experiment`` (nothing runs yet)."""
    config = experiment.config
    name = str(config["name"]) if resume_path is not None and config.get("name") else run_name(config, experiment.name)
    name = distributed.same_on_all_ranks(name)
    run_dir = (
        resume_path.parent.parent if resume_path is not None else prepare_run_dir(config["output_dir"], name, False)
    )
    name = run_dir.name
    # The experiment file is recorded so `predict` can rebuild a model the experiment defines itself.
    config = {**config, "name": name, "experiment": str(experiment.path) if experiment.path else None}
    device = distributed.process_device(resolve_device(str(config["device"])))
    configure_cuda(device)
    manual_seed(int(config["seed"]))

    transforms = experiment.factory("build_transforms", build_transforms)(config)
    splits = experiment.factory("build_datasets", build_datasets)(config, transforms)
    splits, loader_options = cache_splits(experiment, splits, config, device)  # cache="memory": decode once
    classes = list(splits.classes)
    config["classes"] = classes
    batch_size = distributed.process_batch_size(int(config["batch_size"]))  # batch_size is the global batch
    shard = (idist.get_rank(), idist.get_world_size())
    train_loader = build_train_loader(splits.train, splits.train.targets, config, batch_size, *shard, **loader_options)
    val_loader = build_eval_loader(splits.val, config, batch_size, *shard, **loader_options)
    class_counts = splits.train.class_counts()

    model = experiment.factory("build_model", build_model)(config, len(classes)).to(device)
    channels_last = bool(config["channels_last"])
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    loss_fn = experiment.factory("build_loss", build_loss)(config, class_counts).to(device)
    optimizer = experiment.factory("build_optimizer", build_optimizer)(config, model)
    scheduler = experiment.factory("build_scheduler", build_scheduler)(config, optimizer, len(train_loader))
    if len(group_learning_rates(optimizer)) > 1:  # layer_decay / head_lr_scale / no decay on norms and biases
        logger.info("parameter groups:\n" + describe_groups(optimizer.param_groups))

    wrapped = distributed.distributed_model(model, device, freeze_needs_unused(config))  # DDP when several processes
    trainer = create_trainer(
        compile_model(wrapped, bool(config["compile"])),
        optimizer,
        loss_fn,
        device,
        amp=config["amp"],
        grad_clip=config["grad_clip"],
        accumulation_steps=int(config["accumulation_steps"]),
        channels_last=channels_last,
        batch_transform=build_batch_transform(config, len(classes)),  # MixUp/CutMix when configured
    )
    config["amp"] = trainer.state.amp  # what really runs on this device
    freeze = attach_freeze(trainer, model, config)  # freeze_epochs: the head alone first
    ema = attach_ema(trainer, model, config)  # with ema_decay, validation and the best checkpoint use EMA weights
    eval_model = ema.ema_model if ema is not None else model
    tta_modes = parse_modes(config.get("tta"))  # opt-in TTA at validation
    validated = TTAModel(eval_model, tta_modes, config["tta_scales"]) if tta_modes else eval_model
    evaluator = create_evaluator(
        compile_model(validated, bool(config["compile"])), device, amp=trainer.state.amp, channels_last=channels_last
    )
    distributed.attach_buffer_sync(trainer, [model, eval_model])  # before validation: rank 0's BatchNorm statistics
    if config["compile"]:
        FirstIterationTime("training").attach(trainer)
        FirstIterationTime("validation").attach(evaluator)
    attach_validation_metrics(evaluator, classes, loss_fn, config.get("f1_weights"), device)

    checkpoint_dir = run_dir / "checkpoints"
    metric = str(config["checkpoint_metric"])
    best_to_save = {
        "model": eval_model,
        "classes": Value(classes),
        "config": Value(config),
        "meta": Value(
            getter=lambda: {
                "epoch": trainer.state.epoch,
                "metric": metric,
                "score": float(evaluator.state.metrics.get(metric, math.nan)),
            }
        ),
    }
    best = best_checkpointer(best_to_save, checkpoint_dir, metric, int(config["n_saved"]), trainer)

    run = Run(
        experiment=experiment,
        config=config,
        name=name,
        run_dir=run_dir,
        device=device,
        classes=classes,
        model=model,
        loss_fn=loss_fn,
        optimizer=optimizer,
        scheduler=scheduler,
        trainer=trainer,
        evaluator=evaluator,
        train_loader=train_loader,
        val_loader=val_loader,
        best_checkpointer=best,
        last_checkpointer=None,  # type: ignore[arg-type]  # set below, it saves the run's own state
        to_save={},
    )
    history_value = Value(getter=lambda: run.history)
    run.to_save = {
        "model": model,
        "optimizer": optimizer,
        "trainer": trainer,
        "best_checkpointer": best,
        "rng": RNGState(),
        "classes": Value(classes),
        "config": Value(config),
        "wandb_run_id": run.wandb_run_id,
        "history": history_value,
    }
    if scheduler is not None:
        run.to_save["scheduler"] = scheduler
    if trainer.state.scaler is not None:
        run.to_save["scaler"] = trainer.state.scaler
    if ema is not None:
        run.to_save["ema_model"] = ema
    if freeze is not None:
        run.to_save["freeze_backbone"] = freeze
    if config.get("patience"):
        run.early_stopping = EarlyStopping(
            patience=int(config["patience"]),
            score_function=metric_score(metric),
            trainer=trainer,
        )
        run.to_save["early_stopping"] = run.early_stopping
    run.last_checkpointer = last_checkpointer(run.to_save, checkpoint_dir)
    _attach_handlers(run)
    return run


def _attach_handlers(run: Run) -> None:
    """The handlers every run has, in the order they must fire at the end of an epoch."""
    config, trainer, evaluator = run.config, run.trainer, run.evaluator
    seed = int(config["seed"])
    log_every = int(config["log_every"])
    epoch_clock: dict[str, float] = {}

    @trainer.on(Events.EPOCH_STARTED)
    def _start_epoch(engine: Engine) -> None:
        reseed_for_epoch(run.train_loader, seed, engine.state.epoch)
        epoch_clock["start"] = time.perf_counter()
        epoch_clock["first_iteration"] = engine.state.iteration

    TrainStats(log_every, run.optimizer).attach(trainer)  # reads first at EPOCH_COMPLETED: NaN stops here

    @trainer.on(Events.EPOCH_COMPLETED)
    def _validate(engine: Engine) -> None:
        train_seconds = time.perf_counter() - epoch_clock["start"]
        iterations = engine.state.iteration - epoch_clock["first_iteration"]
        samples = iterations * int(config["batch_size"])
        start = time.perf_counter()
        evaluator.run(run.val_loader)
        record: dict[str, Any] = {"epoch": engine.state.epoch, "iteration": engine.state.iteration}
        record.update(scalar_metrics(engine.state.metrics))
        record.update(scalar_metrics(evaluator.state.metrics))
        record["lr"] = current_lr(run.optimizer)
        record.update(group_learning_rates(run.optimizer))  # lr/NAME of each parameter group, when several
        record["train_seconds"] = train_seconds
        record["train_samples"] = samples
        record["val_seconds"] = time.perf_counter() - start
        run.history.append(record)
        if distributed.is_main_process():
            write_json_atomic(run.run_dir / "history.json", run.history)
        logger.info(
            f"epoch {engine.state.epoch}/{engine.state.max_epochs}  "
            + "  ".join(f"{k} {record[k]:.4g}" for k in EPOCH_LOG_NAMES if k in record)
            + f"  ({train_seconds:.1f} s train, {record['val_seconds']:.1f} s val)"
        )
        if group_learning_rates(run.optimizer):
            logger.info("  lr " + ", ".join(f"{k[3:]} {v:.3g}" for k, v in group_learning_rates(run.optimizer).items()))

    evaluator.add_event_handler(Events.COMPLETED, run.best_checkpointer)
    if run.early_stopping is not None:
        evaluator.add_event_handler(Events.COMPLETED, run.early_stopping)

    if run.scheduler is not None:
        SchedulerStep(run.scheduler, str(config["scheduler_interval"])).attach(trainer)

    trainer.add_event_handler(Events.EPOCH_COMPLETED, run.last_checkpointer)

    run.stop_at = StopAt(config.get("stop_after_epoch"), config.get("stop_after_iteration"), run.last_checkpointer)
    run.stop_at.attach(trainer)

    if sys.stderr.isatty() and not os.environ.get("CI") and distributed.is_main_process():
        from ignite.handlers import ProgressBar

        ProgressBar(persist=False).attach(trainer, metric_names=["train_loss", "train_acc"])


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

    def train_values(engine: Engine) -> dict[str, float]:
        values = {k: float(v) for k, v in engine.state.metrics.items() if k in ("train_loss", "train_acc")}
        values["learning_rate"] = current_lr(run.optimizer)
        values.update(group_learning_rates(run.optimizer))
        values["epoch"] = engine.state.epoch
        return values

    def val_values(engine: Engine) -> dict[str, float]:
        values = scalar_metrics(engine.state.metrics)
        values["epoch"] = run.trainer.state.epoch
        return values

    log_every = int(run.config["log_every"])
    wandb_logger.attach(
        run.trainer,
        wandb_logging.LogScalars(wandb_logger, train_values, run.trainer),
        Events.ITERATION_COMPLETED(every=log_every),
    )
    wandb_logger.attach(
        run.evaluator, wandb_logging.LogScalars(wandb_logger, val_values, run.trainer), Events.COMPLETED
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
    for leftover in run.checkpoint_dir.glob("tmp*"):  # half-written files of a process that was killed
        if leftover.is_file() and distributed.is_main_process():
            leftover.unlink()
    run.history = list(run.to_save["history"].value)
    iteration_in_epoch = run.trainer.state.iteration % len(run.train_loader)
    if iteration_in_epoch:
        run.train_loader.sampler.skip(iteration_in_epoch * run.train_loader.batch_size)
    logger.info(
        f"resumed {run.name} from {path} at epoch {run.trainer.state.epoch}, iteration {run.trainer.state.iteration}"
    )


def results_of(run: Run, status: str) -> dict[str, Any]:
    metric = str(run.config["checkpoint_metric"])
    best = best_record(run.history, metric)
    samples = sum(r["train_samples"] for r in run.history)
    seconds = sum(r["train_seconds"] for r in run.history)
    best_path = run.best_checkpointer.last_checkpoint
    results: dict[str, Any] = {
        "name": run.name,
        "status": status,
        "checkpoint_metric": metric,
        "best_score": best[metric] if best else None,
        "best_val_acc": max((r["val_acc"] for r in run.history), default=None),
        "best_epoch": best["epoch"] if best else None,
        "best_checkpoint": str(best_path) if best_path else None,
        "last_checkpoint": str(run.checkpoint_dir / LAST_CHECKPOINT),
        "epochs_completed": run.history[-1]["epoch"] if run.history else 0,
        "train_samples_per_second": samples / seconds if seconds > 0 else None,
        "val_acc": best["val_acc"] if best else None,
        "val_macro_f1": best.get("val_macro_f1") if best else None,
        "val_weighted_f1": best.get("val_weighted_f1") if best else None,
        "classes": run.classes,
        "device": str(run.device),
        "amp": run.config["amp"],
        "run_dir": str(run.run_dir),
        "wandb_dir": wandb_logging.run_files_dir(run.wandb_logger),
    }
    return results


def train(experiment: Experiment, attach: Callable[[Run], None] | None = None) -> dict[str, Any]:
    """Train ``experiment`` and return its results (also written to ``results.json``).

    ``attach(run)`` is called once everything is built (and resumed), before training starts:
    the place to add handlers of your own (a sweep's pruning callback, say).
    Exits the process with 130/143 after a SIGINT/SIGTERM (a ``last`` checkpoint is saved first).
    """
    resume_path = find_resume_checkpoint(experiment.config)
    run = build_run(experiment, resume_path)
    if resume_path is not None:
        resume(run, resume_path)
        if (
            run.trainer.state.epoch >= int(run.config["epochs"])
            and run.trainer.state.iteration % len(run.train_loader) == 0
        ):
            logger.info(f"run {run.name} already finished ({run.trainer.state.epoch} epochs); nothing to do")
            results_path = run.run_dir / "results.json"
            if results_path.exists():
                return json.loads(results_path.read_text(encoding="utf-8"))
            return results_of(run, "finished")
    if distributed.is_main_process():  # checkpoints, files, W&B and pictures: rank 0 only
        write_json_atomic(run.run_dir / "config.json", run.config)
        _attach_wandb(run)
    attach_visuals(run)  # pictures: graph, gallery, confusion matrix, curves, index.html; wandb.watch
    if distributed.is_main_process() and run.config["plots"]:  # train_batch.png: the first augmented batch
        title = augment_title(run.config)
        TrainBatchPicture(run.run_dir / "train_batch.png", run.classes, title, wandb_logger=run.wandb_logger).attach(
            run.trainer
        )
    if attach is not None:
        attach(run)

    interrupt = Interrupt(lambda engine: run.last_checkpointer(engine))
    interrupt.attach(run.trainer)
    status, exit_code = "finished", 0
    try:
        run.trainer.run(run.train_loader, max_epochs=int(run.config["epochs"]))
        if run.stop_at is not None and run.stop_at.stopped:
            status = "stopped"
        elif run.early_stopping is not None and run.trainer.should_terminate:
            status = "early_stopped"
    except BaseException as error:
        status, exit_code = "failed", getattr(error, "exit_code", 1)
        results = results_of(run, status)
        if distributed.is_main_process():
            write_json_atomic(run.run_dir / "results.json", results)
        wandb_logging.finish(run.wandb_logger, {}, exit_code=exit_code)
        raise
    finally:
        interrupt.restore()
    if interrupt.signal is not None:
        status, exit_code = "interrupted", interrupt.exit_code

    results = results_of(run, status)
    if distributed.is_main_process():
        write_json_atomic(run.run_dir / "results.json", results)
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
