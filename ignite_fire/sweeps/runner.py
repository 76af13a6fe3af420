"""The local sweep: an Optuna study whose trials are normal training runs.

    python -m ignite_fire sweep EXPERIMENT.py --count=10 [--key=value ...] [--name=NAME] [--storage=URL] [--resume]

The sweep directory ``{output_dir}/{name}`` holds ``study.db`` (the default storage), ``trials.csv``,
``trials.png`` and one run directory per trial (``trial-000``, ...). A trial trains the experiment
with its sampled values as config overrides; its W&B run is in the group named after the sweep;
its value is its best epoch's metric (the one its best checkpoint holds).

``--count`` is how many trials this worker runs, as ``wandb.agent(count=...)``: start the same
command on several workers (same ``--name`` and ``--storage``) and their counts add up. With
``--resume`` the sweep first re-runs trials that were interrupted (from their last checkpoint),
then runs until it holds ``--count`` finished trials. A trial whose training raises is recorded
failed and the sweep goes on; after :data:`MAX_CONSECUTIVE_FAILURES` failures in a row it stops.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn

import optuna
from ignite.engine import Events
from optuna.trial import FrozenTrial, TrialState

from ignite_fire import signals
from ignite_fire.config import apply_overrides
from ignite_fire.errors import UserError
from ignite_fire.experiment import Experiment, load_experiment
from ignite_fire.files import write_json_atomic
from ignite_fire.handlers.checkpoints import LAST_CHECKPOINT
from ignite_fire.run_dir import prepare_run_dir, run_name
from ignite_fire.sweeps import results
from ignite_fire.sweeps.config import SweepSpec, build_pruner, build_sampler, parse_sweep, suggest
from ignite_fire.sweeps.progress import SweepProgress, format_params, header
from ignite_fire.sweeps.pruning import ReportToTrial
from ignite_fire.sweeps.storage import default_storage_url, display_url, fail_orphans, open_storage, storage_url
from ignite_fire.training import Run, train

logger = logging.getLogger("ignite_fire")

MAX_CONSECUTIVE_FAILURES = 3  # as wandb.agent: a sweep whose every trial fails stops instead of burning the count
SWEEP_LEVEL_KEYS = ("name", "output_dir")  # name the sweep, not its trials


class TrialFailed(Exception):
    """A trial's training raised; the trial is recorded failed with the message and the sweep goes on."""


@dataclass
class Sweep:
    experiment: Experiment
    spec: SweepSpec
    name: str
    sweep_dir: Path
    storage_url: str


def prepare_sweep(experiment_path: str, overrides: dict[str, Any], storage: str | None, resume: bool) -> Sweep:
    """Load the experiment, check its sweep against the overrides, and name the sweep directory."""
    if "checkpoint_metric" in overrides:
        raise UserError("--checkpoint_metric is set by the sweep (its metric.name); remove it")
    experiment = load_experiment(experiment_path, overrides)
    fixed = {k: v for k, v in overrides.items() if k not in SWEEP_LEVEL_KEYS}
    spec = parse_sweep(experiment.sweep, experiment.config, fixed, str(experiment_path))
    keys = experiment.settings.bookkeeping
    if resume and not keys.name:
        raise UserError("--resume needs --name=SWEEP_NAME (the sweep to continue)")
    name = run_name(keys.name, experiment.name, keys.output_dir)
    sweep_dir = Path(keys.output_dir).expanduser() / name  # created by make_sweep_dir
    url = storage_url(str(storage)) if storage else default_storage_url(sweep_dir)
    return Sweep(experiment=experiment, spec=spec, name=name, sweep_dir=sweep_dir, storage_url=url)


def make_sweep_dir(sweep: Sweep) -> None:
    prepare_run_dir(str(sweep.sweep_dir.parent), sweep.name, resuming=True)


def open_study(sweep: Sweep, resume: bool, storage: optuna.storages.BaseStorage) -> optuna.Study:
    """Create the sweep's study, or join it; a study started with another metric or method is refused."""
    where = display_url(sweep.storage_url)
    exists = sweep.name in optuna.get_all_study_names(storage)
    if resume and not exists:
        raise UserError(f"--resume: there is no sweep {sweep.name} in {where}; start it without --resume")
    study = optuna.create_study(
        storage=storage,
        study_name=sweep.name,
        direction=sweep.spec.goal,  # type: ignore[arg-type]  # sweeps/config.py checked it: maximize or minimize
        sampler=build_sampler(sweep.spec, sweep.experiment.settings.update.seed),
        pruner=build_pruner(sweep.spec),
        load_if_exists=True,
    )
    described = sweep.spec.describe()
    stored = study.user_attrs.get("sweep")
    if stored is None:
        study.set_user_attr("sweep", described)
        study.set_user_attr("experiment", str(sweep.experiment.path))
    else:
        for key in ("metric", "goal", "method"):
            if stored[key] != described[key]:
                raise UserError(
                    f"sweep {sweep.name} in {where} was started with {key} {stored[key]!r}, not {described[key]!r}: "
                    "choose another --name"
                )
        if stored["parameters"] != described["parameters"]:
            logger.warning(f"note: the search space differs from the one sweep {sweep.name} started with")
    return study


def requeue_interrupted(study: optuna.Study) -> list[int]:
    """Queue each interrupted trial again with its parameters; it resumes from its last checkpoint."""
    trials = study.get_trials(deepcopy=False)
    already = {t.user_attrs.get("rerun_of") for t in trials}
    numbers = []
    for trial in trials:
        if results.status_of(trial) == "interrupted" and trial.number not in already:
            attrs = {"rerun_of": trial.number, "resume_dir": trial.user_attrs.get("run_dir")}
            study.enqueue_trial(trial.params, user_attrs=attrs)
            numbers.append(trial.number)
    return numbers



STOPPED_CODES = {*(signals.exit_code(s) for s in signals.STOP_SIGNALS), signals.WORKER_LOST_EXIT_CODE}
"""Exit codes of a trial that saved its last checkpoint and stopped: the sweep stops too (``--resume`` goes on)."""

class Objective:
    """One trial: sample, train with the values as overrides, report each epoch, return the best value."""

    def __init__(self, sweep: Sweep) -> None:
        self.sweep = sweep
        self.exit_code = 0  # 130/143/129 once a signal stopped a trial (137: a lost DataLoader worker)

    def _fail(self, trial: optuna.Trial, run_dir: Path, message: str, details: str | None = None) -> NoReturn:
        trial.set_user_attr("error", message)
        if details and run_dir.is_dir():
            (run_dir / "error.txt").write_text(details, encoding="utf-8")
        logger.info(f"trial {trial.number} failed: {message}")
        raise TrialFailed(message)

    def __call__(self, trial: optuna.Trial) -> float:
        sweep, spec = self.sweep, self.sweep.spec
        params = {name: suggest(trial, name, distribution) for name, distribution in spec.parameters.items()}
        resume_dir = trial.user_attrs.get("resume_dir")
        run_dir = Path(resume_dir) if resume_dir else sweep.sweep_dir / f"trial-{trial.number:03d}"
        last = run_dir / "checkpoints" / LAST_CHECKPOINT
        overrides = {
            **spec.fixed,
            **params,
            "output_dir": str(run_dir.parent),
            "name": run_dir.name,
            "wandb_group": spec.fixed.get("wandb_group") or sweep.name,
            "checkpoint_metric": spec.metric,
            "resume": str(last) if last.exists() else None,
        }
        for key, value in (("host", socket.gethostname()), ("pid", os.getpid()), ("run_dir", str(run_dir))):
            trial.set_user_attr(key, value)
        trial.set_user_attr("fixed", spec.fixed)
        again = f" (re-running trial {trial.user_attrs['rerun_of']})" if "rerun_of" in trial.user_attrs else ""
        logger.info(f"trial {trial.number}{again}: {format_params(params) or 'no searched parameters'}")

        reporter: list[ReportToTrial] = []

        def attach(run: Run) -> None:
            report = ReportToTrial(trial, spec.metric, run.trainer)
            report.report_history(run.history)  # a resumed trial: the epochs before the interruption
            run.evaluator.add_event_handler(Events.COMPLETED, report)
            reporter.append(report)

        try:
            config = apply_overrides(sweep.experiment.config, overrides)
            experiment = replace(sweep.experiment, config=config, overrides={**sweep.experiment.overrides, **overrides})
            again = f"the same sweep command with --name={sweep.name} --resume"  # not the trial's own --name
            outcome = train(experiment, attach=attach, resume_command=again)
        except SystemExit as stop:
            if stop.code in STOPPED_CODES:  # a stop signal or a lost worker: train saved a last checkpoint
                self.exit_code = int(stop.code)
                raise KeyboardInterrupt from None  # Optuna records the trial failed (interrupted) and re-raises
            self._fail(trial, run_dir, f"training exited with code {stop.code}")
        except KeyboardInterrupt:
            self.exit_code = self.exit_code or 130  # 143 when stop_on_signals saw SIGTERM
            raise
        except UserError as error:
            self._fail(trial, run_dir, str(error))
        except Exception as error:  # a bug or, say, out of GPU memory: this trial fails, the sweep goes on
            self._fail(trial, run_dir, f"{type(error).__name__}: {error}", traceback.format_exc())

        trial.set_user_attr("epochs", outcome["epochs_completed"])
        trial.set_user_attr("best_epoch", outcome["best_epoch"])
        trial.set_user_attr("best_checkpoint", outcome["best_checkpoint"])
        if reporter and reporter[0].pruned_at is not None:
            write_json_atomic(run_dir / "results.json", {**outcome, "status": "pruned"})
            raise optuna.TrialPruned(f"after epoch {reporter[0].pruned_at}")
        value = outcome["best_score"]
        if value is None or not math.isfinite(value):
            self._fail(trial, run_dir, f"no finite {spec.metric} was measured")
        logger.info(f"trial {trial.number} complete: {spec.metric} {value:.4g}")
        return float(value)


class StopRules:
    """Optuna callback: stop after :data:`MAX_CONSECUTIVE_FAILURES` failed trials in a row, when a
    trial reaches ``metric.target``, or when the study holds ``run_cap`` trials."""

    def __init__(self, spec: SweepSpec) -> None:
        self.spec = spec
        self.failures: list[str] = []

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        status = results.status_of(trial)
        self.failures = self.failures + [trial.user_attrs.get("error", "")] if status == "failed" else []
        if len(self.failures) >= MAX_CONSECUTIVE_FAILURES:
            study.stop()
        target = self.spec.target
        if target is not None and status == "complete" and trial.value is not None:
            if (trial.value >= target) if self.spec.goal == "maximize" else (trial.value <= target):
                logger.info(f"trial {trial.number} reached the target {self.spec.metric} {target}: stopping")
                study.stop()
        if self.spec.run_cap is not None and len(study.get_trials(deepcopy=False)) >= self.spec.run_cap:
            study.stop()


def stop_on_signals(objective: Objective) -> dict[int, Any]:
    """Make the stop signals (SIGINT, SIGTERM, SIGHUP) raise KeyboardInterrupt between trials (within one,
    training stops cleanly
    and saves its last checkpoint): the trial is recorded interrupted and no new one starts. Returns
    the previous handlers."""

    def stop(signum: int, frame: Any) -> None:
        objective.exit_code = signals.exit_code(signum)
        raise KeyboardInterrupt

    return signals.catch(stop)


def trials_to_run(study: optuna.Study, sweep: Sweep, count: int, resume: bool) -> int:
    """How many trials this worker starts: ``count``, or on ``--resume`` what the sweep lacks."""
    n = count
    if resume:
        requeued = requeue_interrupted(study)
        if requeued:
            logger.info(f"re-running interrupted trial(s) {', '.join(map(str, requeued))} from their last checkpoints")
        finished = sum(results.is_finished(t) for t in study.get_trials(deepcopy=False))
        n = max(0, count - finished)
        logger.info(f"sweep {sweep.name} holds {finished} finished trials; {n} to go for --count={count}")
    trials = study.get_trials(deepcopy=False)
    if sweep.spec.run_cap is not None:
        n = min(n, max(0, sweep.spec.run_cap - len(trials)))
    waiting = any(t.state == TrialState.WAITING for t in trials)
    sampler = study.sampler
    if isinstance(sampler, optuna.samplers.GridSampler) and sampler.is_exhausted(study) and not waiting:
        logger.info(f"the grid of sweep {sweep.name} is complete")
        n = 0
    return n


def run_sweep(
    experiment_path: str,
    overrides: dict[str, Any],
    count: int,
    storage: str | None = None,
    resume: bool = False,
) -> FrozenTrial | None:
    """Run ``count`` trials of the experiment's sweep on this worker; returns the best trial so far."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise UserError(f"--count={count!r} must be an int >= 1 (the number of trials this worker runs)")
    sweep = prepare_sweep(experiment_path, overrides, storage, resume)
    if resume and not storage and not (sweep.sweep_dir / "study.db").is_file():
        raise UserError(f"--resume: there is no sweep in {sweep.sweep_dir}; start it without --resume")
    optuna_storage = open_storage(sweep.storage_url) if storage else None  # a bad URL fails before any mkdir
    make_sweep_dir(sweep)
    optuna_storage = optuna_storage or open_storage(sweep.storage_url)
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # the sweep logs its own lines
    study = open_study(sweep, resume, optuna_storage)
    orphans = fail_orphans(study, optuna_storage)
    if orphans:
        logger.info(f"trial(s) {', '.join(map(str, orphans))} lost their worker process: marked interrupted")
    spec = sweep.spec
    epochs = None if "epochs" in spec.parameters else sweep.experiment.settings.training.epochs
    logger.info(
        f"{header(spec, sweep.name, epochs)}\n  directory {sweep.sweep_dir}; storage {display_url(sweep.storage_url)}"
    )
    n_trials = trials_to_run(study, sweep, count, resume)
    objective = Objective(sweep)
    rules = StopRules(spec)
    previous = stop_on_signals(objective)
    try:
        if n_trials:
            callbacks: list[Callable[[optuna.Study, FrozenTrial], None]] = [rules, SweepProgress(n_trials)]
            study.optimize(objective, n_trials=n_trials, catch=(TrialFailed,), callbacks=callbacks, gc_after_trial=True)
    except KeyboardInterrupt:
        results.report(study, sweep.sweep_dir)
        logger.info(
            f"sweep interrupted; continue it with: python -m ignite_fire sweep {experiment_path} "
            f"--name={sweep.name} --count={count} --resume" + (f" --storage={storage}" if storage else "")
        )
        raise SystemExit(objective.exit_code or 130) from None
    finally:
        signals.restore(previous)
    best = results.report(study, sweep.sweep_dir)
    if len(rules.failures) >= MAX_CONSECUTIVE_FAILURES:
        raise UserError(
            f"{len(rules.failures)} trials in a row failed (last: {rules.failures[-1]}); "
            f"fix it and continue with --name={sweep.name} --resume"
        )
    return best


def sweep_status(sweep_dir: str, storage: str | None = None) -> FrozenTrial | None:
    """Print the table of trials of the sweep in SWEEP_DIR and rewrite its trials.csv and trials.png.

    Its study is SWEEP_DIR/study.db; --storage=URL reads it from that storage instead (the sweep's name
    is SWEEP_DIR's last part).
    """
    path = Path(sweep_dir).expanduser()
    url = storage_url(str(storage)) if storage else default_storage_url(path)
    if not storage and not (path / "study.db").is_file():
        raise UserError(f"{path} holds no sweep (no study.db); pass the sweep directory, or --storage=URL")
    optuna_storage = open_storage(url)
    if path.name not in optuna.get_all_study_names(optuna_storage):
        raise UserError(f"there is no sweep {path.name} in {display_url(url)}")
    study = optuna.load_study(study_name=path.name, storage=optuna_storage)
    return results.report(study, path)
