"""``python -m ignite_fire lr-find EXPERIMENT.py [--key=value]``: Ignite's FastaiLRFinder on the assembled run.

The run is built exactly as ``train`` builds it (:func:`~ignite_fire.training.build_run`: data,
model, optimizer with its parameter groups, AMP, ...) in a temporary directory that is deleted
afterwards. The learning rate grows exponentially from ``start_lr`` to ``end_lr`` over ``num_iter``
iterations (every parameter group keeps its ratio to ``learning_rate``, so layer decay and
``head_lr_scale`` hold), until the loss diverges. Writes ``lr_find.png`` (loss against learning
rate, the suggestion marked) into ``{output_dir}/{name or experiment name}/`` and prints the
suggested ``--learning_rate=...`` to paste. Nothing else in that directory changes.

Example::

    python -m ignite_fire lr-find experiments/convnext_finetune.py --data_dir=data --num_iter=100
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from pathlib import Path
from typing import Any

from ignite.handlers import FastaiLRFinder
from matplotlib.figure import Figure

from ignite_fire.errors import UserError
from ignite_fire.pictures.drawing import save_figure

logger = logging.getLogger("ignite_fire")


def plot_lr_find(lrs: list[float], losses: list[float], suggestion: float | None, path: Path) -> Path:
    """Loss against learning rate (log scale), the suggestion as a red dot and a dashed line."""
    figure = Figure(figsize=(6, 4), dpi=100)
    axes = figure.add_subplot()
    axes.plot(lrs, losses, color="tab:blue")
    if suggestion is not None:
        nearest = min(range(len(lrs)), key=lambda i: abs(lrs[i] - suggestion))
        axes.axvline(suggestion, color="tab:red", linestyle="--", linewidth=1)
        axes.plot([lrs[nearest]], [losses[nearest]], "o", color="tab:red", label=f"suggested {suggestion:.2e}")
        axes.legend()
    axes.set_xscale("log")
    axes.set_xlabel("learning rate")
    axes.set_ylabel("training loss (smoothed)")
    axes.set_title("LR finder")
    figure.tight_layout()
    return save_figure(figure, path)


def find_lr(
    experiment: Any, num_iter: int = 100, start_lr: float = 1e-7, end_lr: float = 10.0
) -> tuple[float | None, dict[str, Any]]:
    """Run FastaiLRFinder on ``experiment``'s run, built in a temporary directory; returns (suggestion, history).

    ``history``: ``lr`` and (smoothed) ``loss``, exactly ``num_iter`` of each unless the loss diverged first,
    and ``diverged``.
    """
    from ignite_fire.training import build_run

    base_lr = experiment.settings.training.learning_rate
    with tempfile.TemporaryDirectory(prefix="lr_find-") as scratch:
        experiment.config = {**experiment.config, "output_dir": scratch, "name": "lr_find", "resume": None}
        experiment.config.update(stop_after_epoch=None, stop_after_iteration=None, patience=None)
        run = build_run(experiment)
        scales = [float(g["lr"]) / base_lr for g in run.optimizer.param_groups]
        finder = FastaiLRFinder()
        to_save = {"model": run.model, "optimizer": run.optimizer}
        with finder.attach(
            run.trainer,
            to_save=to_save,
            output_transform=lambda output: output["loss"] if isinstance(output, dict) else output,
            num_iter=num_iter,
            start_lr=[start_lr * s for s in scales],
            end_lr=[end_lr * s for s in scales],
        ) as trainer:
            # One long epoch (the loader restarts as needed): validation and checkpoints never fire.
            with warnings.catch_warnings():  # Ignite's "increase end_lr, decrease diverge_th, lr_finder.plot()":
                warnings.filterwarnings("ignore", "Run completed without loss diverging")  # run_lr_find says it
                trainer.run(run.train_loader, max_epochs=1, epoch_length=num_iter + 1)
        # Ignite stops once the iteration count *exceeds* num_iter: its last point is one step past end_lr.
        history = {key: values[:num_iter] for key, values in finder.get_results().items()}
        diverged = bool(finder._diverge_flag)  # Ignite keeps it only in this attribute
    try:
        suggestion = finder.lr_suggestion()
    except RuntimeError:  # Ignite's "unexpected curve shape": the loss never turned up
        suggestion = None
    if isinstance(suggestion, list):
        suggestion = suggestion[0]
    first = [lr[0] if isinstance(lr, (list, tuple)) else lr for lr in history["lr"]]  # group 0 (one per group)
    lrs = [float(lr) / scales[0] for lr in first]  # in units of learning_rate (group 0's scale undone)
    value = float(suggestion) / scales[0] if suggestion is not None else None
    return value, {"lr": lrs, "loss": [float(x) for x in history["loss"]], "diverged": diverged}


FLAT = 0.02  # a smoothed loss that moves less than this fraction of its start has no dip to read a rate from


def is_flat(losses: list[float]) -> bool:
    """The loss hardly moved over the whole range (it neither fell nor rose): a suggestion would be noise."""
    return not max(losses) - min(losses) > FLAT * abs(losses[0])


def run_lr_find(
    experiment: str, num_iter: int = 100, start_lr: float = 1e-7, end_lr: float = 10.0, **overrides: Any
) -> None:
    """Find a learning rate for EXPERIMENT: writes lr_find.png and prints --learning_rate=... to paste.

    The LR grows exponentially from --start_lr to --end_lr over --num_iter batches; nothing else in the
    run directory changes. Any config key can be overridden as --key=value.
    """
    from ignite_fire.experiment import load_experiment

    if isinstance(num_iter, bool) or not isinstance(num_iter, int) or num_iter < 2:
        raise UserError(f"--num_iter must be an integer >= 2, got {num_iter!r}")
    if not 0 < float(start_lr) < float(end_lr):
        raise UserError(f"--start_lr ({start_lr}) must be positive and below --end_lr ({end_lr})")
    loaded = load_experiment(experiment, overrides)
    from ignite_fire.files import check_outputs, output_folder
    from ignite_fire.run_dir import check_run_name

    keys, data_dir = loaded.settings.bookkeeping, loaded.settings.data.data_dir
    name = check_run_name(str(keys.name or loaded.name), keys.output_dir)
    output = Path(keys.output_dir).expanduser() / name
    if data_dir:
        check_outputs({"--output_dir": output / "lr_find.png"}, {"--data_dir": Path(data_dir)})
    suggestion, history = find_lr(loaded, num_iter, float(start_lr), float(end_lr))
    if len(history["lr"]) < 2:
        raise UserError("the LR finder stopped after fewer than 2 iterations: lower --start_lr or use more data")
    flat = is_flat(history["loss"])
    if flat:
        suggestion = None
    with output_folder(output):  # a failed write leaves no empty run folder
        path = plot_lr_find(history["lr"], history["loss"], suggestion, output / "lr_find.png")
    logger.info(f"lr-find: {len(history['lr'])} iterations, loss against learning rate in {path}")
    if not history["diverged"] and not flat:
        logger.info(
            f"lr-find: the loss did not diverge up to --end_lr={end_lr:g}: the suggestion may be too low; "
            f"for the whole curve raise --end_lr (e.g. --end_lr={end_lr * 10:g}) or --num_iter"
        )
    if flat:
        first, lowest = history["loss"][0], min(history["loss"])
        logger.info(
            f"lr-find: no suggestion: the loss hardly changed ({first:.4g} -> lowest {lowest:.4g}) between "
            f"--start_lr={start_lr:g} and --end_lr={end_lr:g}; widen the range (raise --end_lr) or check that "
            "the model learns at all"
        )
        return
    if suggestion is None:
        logger.info("lr-find: no suggestion (the loss curve has no clear dip): look at the picture; lower --start_lr")
        return
    print(f"--learning_rate={suggestion:.3g}")
