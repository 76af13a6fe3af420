"""A sweep's results: the table of trials sorted by the metric, ``trials.csv`` and ``trials.png``.

Trial states: ``complete``, ``pruned`` (stopped early by ``early_terminate``), ``failed`` (its
training raised; the error is kept), ``interrupted`` (its worker was stopped or killed; ``sweep
--resume`` re-runs it from its last checkpoint), ``running`` and ``waiting`` (queued).
"""

from __future__ import annotations

import csv
import json
import logging
import math
from pathlib import Path
from typing import Any, cast

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState

from ignite_fire.files import atomic_path

logger = logging.getLogger("ignite_fire")

STATE_ORDER = ("complete", "pruned", "running", "waiting", "interrupted", "failed")


def status_of(trial: FrozenTrial) -> str:
    if trial.state == TrialState.FAIL:
        return "failed" if trial.user_attrs.get("error") else "interrupted"
    return {
        TrialState.COMPLETE: "complete",
        TrialState.PRUNED: "pruned",
        TrialState.RUNNING: "running",
        TrialState.WAITING: "waiting",
    }[trial.state]


def is_finished(trial: FrozenTrial) -> bool:
    """Counts towards ``--count`` on ``--resume``: complete, pruned or failed (not interrupted)."""
    return status_of(trial) in ("complete", "pruned", "failed")


def _sort_key(trial: FrozenTrial, sign: float) -> tuple[int, float, int]:
    value = trial.value if trial.value is not None and math.isfinite(trial.value) else -math.inf * sign
    return STATE_ORDER.index(status_of(trial)), -sign * value, trial.number


def sorted_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Complete trials best first, then pruned ones (by the value they were stopped at), then the rest."""
    sign = 1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else -1.0
    return sorted(study.get_trials(deepcopy=False), key=lambda t: _sort_key(t, sign))


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    complete = [t for t in sorted_trials(study) if t.state == TrialState.COMPLETE]
    return complete[0] if complete else None


def metric_name(study: optuna.Study) -> str:
    return str(study.user_attrs.get("sweep", {}).get("metric", "value"))


def parameter_columns(trials: list[FrozenTrial]) -> list[str]:
    """Searched parameters, plus command-line values that differ between trials (workers may fix different ones)."""
    names = sorted({name for t in trials for name in t.params})
    fixed_values: dict[str, set[str]] = {}
    for trial in trials:
        for key, value in trial.user_attrs.get("fixed", {}).items():
            fixed_values.setdefault(key, set()).add(json.dumps(value, sort_keys=True))
    return names + sorted(k for k, v in fixed_values.items() if len(v) > 1 and k not in names)


def parameter_value(trial: FrozenTrial, name: str) -> Any:
    return trial.params[name] if name in trial.params else trial.user_attrs.get("fixed", {}).get(name)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _duration_s(trial: FrozenTrial) -> float | None:
    if trial.datetime_start is None or trial.datetime_complete is None:
        return None
    return (trial.datetime_complete - trial.datetime_start).total_seconds()


def format_table(study: optuna.Study) -> str:
    trials = sorted_trials(study)
    metric = metric_name(study)
    params = parameter_columns(trials)
    header = ["trial", "state", metric, "epochs", *params, "minutes", "run_dir"]
    rows = [header]
    for t in trials:
        duration = _duration_s(t)
        rows.append(
            [
                str(t.number),
                status_of(t),
                _fmt(t.value),
                _fmt(t.user_attrs.get("epochs")),
                *(_fmt(parameter_value(t, p)) for p in params),
                f"{duration / 60:.1f}" if duration is not None else "",
                Path(t.user_attrs.get("run_dir", "")).name,
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def write_csv(study: optuna.Study, path: Path) -> None:
    trials = sorted_trials(study)
    params = parameter_columns(trials)
    fields = ["trial", "state", metric_name(study), "epochs", *params, "duration_s", "run_dir", "best_checkpoint"]
    fields += ["host", "rerun_of", "error", "fixed"]
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(fields)
        for t in trials:
            attrs = t.user_attrs
            writer.writerow(
                [
                    t.number,
                    status_of(t),
                    t.value,
                    attrs.get("epochs"),
                    *(parameter_value(t, p) for p in params),
                    _duration_s(t),
                    attrs.get("run_dir"),
                    attrs.get("best_checkpoint"),
                    attrs.get("host"),
                    attrs.get("rerun_of"),
                    attrs.get("error"),
                    json.dumps(attrs.get("fixed", {}), sort_keys=True),
                ]
            )


def log_axis(ax: Any, low: float, high: float) -> None:
    """A log x axis over the search range ``low..high`` whose labels never overlap: 1-2-5 ticks within one
    decade, one per decade (every other one beyond four decades) otherwise, short labels (``1e-04``, ``0.01``)
    and no minor labels. ``0.0001`` and ``0.0002`` side by side ran into each other at three decades."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    ax.set_xlim(low / 1.2, high * 1.2)
    decades = math.log10(high / low) if low > 0 else math.inf
    subs = (1.0, 2.0, 5.0) if decades <= 1 else (1.0,)
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=subs, numticks=5 if decades > 4 else 12))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:.0e}" if x < 1e-3 else f"{x:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def plot(study: optuna.Study, path: Path) -> None:
    """The metric against trial number (with the best so far), and one scatter per parameter."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    scored = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED) and t.value is not None]
    params = sorted({name for t in trials for name in t.params})
    metric = metric_name(study)
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    figure = Figure(figsize=(4.2 * (1 + len(params)), 3.6), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, 1 + len(params), squeeze=False)[0]
    styles = {TrialState.COMPLETE: ("o", "tab:blue", "complete"), TrialState.PRUNED: ("x", "tab:orange", "pruned")}

    ax = axes[0]
    for state, (marker, color, label) in styles.items():
        points = [(t.number, t.value) for t in scored if t.state == state]
        if points:
            ax.scatter(*zip(*points, strict=True), marker=marker, color=color, label=label)
    complete = [t for t in scored if t.state == TrialState.COMPLETE]
    if complete:
        best, steps = None, []
        for t in complete:
            value = cast(float, t.value)  # a complete trial of a single-objective study has its value
            best = value if best is None or (value > best if maximize else value < best) else best
            steps.append((t.number, best))
        ax.step(*zip(*steps, strict=True), where="post", color="tab:green", label="best so far")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial")
    ax.set_ylabel(metric)
    ax.set_title(f"{study.study_name}: {metric}")
    if scored:
        ax.legend(fontsize="small")

    for ax, name in zip(axes[1:], params, strict=True):
        with_param = [t for t in scored if name in t.params]
        distribution = next((t.distributions[name] for t in with_param), None)
        for state, (marker, color, label) in styles.items():
            points = [(t.params[name], t.value) for t in with_param if t.state == state]
            if not points:
                continue
            xs, ys = zip(*points, strict=True)
            if isinstance(distribution, CategoricalDistribution):
                xs = tuple(list(distribution.choices).index(x) for x in xs)
            ax.scatter(xs, ys, marker=marker, color=color, label=label)
        if isinstance(distribution, CategoricalDistribution):
            ax.set_xticks(range(len(distribution.choices)), [str(c) for c in distribution.choices])
            ax.set_xlim(-0.5, len(distribution.choices) - 0.5)
        elif isinstance(distribution, (FloatDistribution, IntDistribution)) and distribution.log:
            log_axis(ax, float(distribution.low), float(distribution.high))
        ax.set_xlabel(name)
        ax.set_ylabel(metric)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, format="png")


def report(study: optuna.Study, sweep_dir: Path) -> FrozenTrial | None:
    """Print the table and the best trial; write ``trials.csv`` and ``trials.png`` in ``sweep_dir``."""
    trials = study.get_trials(deepcopy=False)
    counts = {state: sum(status_of(t) == state for t in trials) for state in STATE_ORDER}
    summary = ", ".join(f"{n} {state}" for state, n in counts.items() if n)
    lines = [f"sweep {study.study_name}: {len(trials)} trials ({summary or 'none yet'})", format_table(study)]
    best = best_trial(study)
    if best is not None:
        values = ", ".join(f"{k}={_fmt(v)}" for k, v in best.params.items())
        lines.append(
            f"best: trial {best.number}, {metric_name(study)} {best.value:.4g}" + (f" ({values})" if values else "")
        )
        lines.append(f"  run directory: {best.user_attrs.get('run_dir')}")
        lines.append(f"  checkpoint:    {best.user_attrs.get('best_checkpoint')}")
    sweep_dir.mkdir(parents=True, exist_ok=True)
    write_csv(study, sweep_dir / "trials.csv")
    try:
        plot(study, sweep_dir / "trials.png")
        lines.append(f"table and plot: {sweep_dir / 'trials.csv'}, {sweep_dir / 'trials.png'}")
    except Exception as error:  # a plot must never lose the table
        lines.append(f"table: {sweep_dir / 'trials.csv'} (no plot: {type(error).__name__}: {error})")
    logger.info("\n".join(lines))
    return best
