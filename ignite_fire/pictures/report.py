"""``index.html``: one page in the run directory with the run's pictures, openable from disk (no server).

It shows the metrics of the last and best epochs, ``curves.png``, ``confusion_matrix.png``, the
latest ``gallery_epoch{N}.png`` (with links to the earlier ones) and the model graph, all by
relative links, so the folder can be copied or zipped whole. While the run trains, the page
reloads itself every 30 seconds. :func:`write_index` reads only the run directory's files, so it
can be rerun at any time::

    python -c "from ignite_fire.pictures.report import write_index; write_index('runs/my-run')"

During training :class:`IndexPage` rewrites it at the start, after every epoch and at the end.
"""

from __future__ import annotations

import html
import json
import math
import re
import shlex
from datetime import datetime
from pathlib import Path
from typing import Any

from ignite.engine import Engine, Events

from ignite_fire.config import DEFAULTS, RunConfig
from ignite_fire.files import write_text_atomic
from ignite_fire.pictures.guard import guarded

METRIC_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "val_macro_f1", "val_score", "lr")
REFRESH_SECONDS = 30

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif;
       margin: 1.5em auto; max-width: 1500px; padding: 0 1em; color: #1f2328; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
.meta { color: #59636e; } img { max-width: 100%; border: 1px solid #d1d9e0; }
table { border-collapse: collapse; } td, th { border: 1px solid #d1d9e0; padding: 0.25em 0.7em; text-align: right; }
th { background: #f6f8fa; } .missing { color: #59636e; font-style: italic; } code { background: #f6f8fa; }
"""


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _format(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, float):
        return "" if not math.isfinite(value) else f"{value:.4g}"
    return str(value)


def _train_batch_section(run_dir: Path) -> str:
    """The first augmented training batch, as the model saw it (``train_batch.png``), when it was drawn."""
    path = run_dir / "train_batch.png"
    if not path.exists():
        return ""
    return f"<h2>First training batch</h2>\n{_image(path, run_dir, 'first training batch', '')}"


def _image(path: Path, run_dir: Path, alt: str, missing: str) -> str:
    if not path.is_file():
        return f'<p class="missing">{html.escape(missing)}</p>'
    href = html.escape(path.relative_to(run_dir).as_posix(), quote=True)
    return f'<a href="{href}"><img src="{href}" alt="{html.escape(alt, quote=True)}"></a>'


def galleries(run_dir: Path) -> list[tuple[int, Path]]:
    """``(epoch, path)`` of every ``gallery_epoch{N}.png`` in ``run_dir``, by epoch."""
    found = []
    for path in run_dir.glob("gallery_epoch*.png"):
        match = re.fullmatch(r"gallery_epoch(\d+)\.png", path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def _metrics_table(history: list[dict[str, Any]], metric: str) -> str:
    if not history:
        return '<p class="missing">no epoch has finished yet</p>'
    scored = [r for r in history if isinstance(r.get(metric), (int, float)) and math.isfinite(r[metric])]
    sign = -1.0 if metric.endswith("loss") else 1.0
    best = max(scored, key=lambda r: (sign * r[metric], -r["epoch"])) if scored else None
    rows = [("last epoch", history[-1])] + ([(f"best {metric}", best)] if best is not None else [])
    columns = [c for c in METRIC_COLUMNS if any(c in r for _, r in rows)]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        f"<tr><th>{html.escape(name)}</th>" + "".join(f"<td>{_format(r.get(c))}</td>" for c in columns) + "</tr>"
        for name, r in rows
    )
    return f"<table><tr><th></th>{head}</tr>{body}</table>"


def _gallery_section(run_dir: Path) -> str:
    """The latest gallery, with links to the earlier ones."""
    found = galleries(run_dir)
    if not found:
        return '<p class="missing">no gallery yet (drawn after validation)</p>'
    epoch, latest = found[-1]
    others = " ".join(f'<a href="{html.escape(p.name, quote=True)}">epoch {e}</a>' for e, p in found[:-1])
    gallery = f"<p>epoch {epoch}" + (f"; earlier: {others}" if others else "") + "</p>"
    return gallery + _image(latest, run_dir, f"predictions, epoch {epoch}", "")


def _graph_section(run_dir: Path) -> str:
    """The model graph's SVG (else PNG) and its .dot source, or why there is none."""
    graph_image = run_dir / "model_graph.svg"
    if not graph_image.is_file():
        graph_image = run_dir / "model_graph.png"
    has_dot = (run_dir / "model_graph.dot").is_file()
    if graph_image.is_file():
        graph = _image(graph_image, run_dir, "model graph", "")
        return graph + ('<p><a href="model_graph.dot">model_graph.dot</a> (Graphviz source)</p>' if has_dot else "")
    if has_dot:
        return (
            '<p class="missing">Graphviz <code>dot</code> was not installed: the graph is only '
            '<a href="model_graph.dot">model_graph.dot</a> (install the <code>graphviz</code> package to draw it)</p>'
        )
    return '<p class="missing">no model graph (--graph=False, or it could not be drawn)</p>'


def _wandb_note(wandb_dir: str | None, run_dir: str) -> str:
    if not wandb_dir:
        return ""
    command = f"python -m ignite_fire sync {shlex.quote(run_dir)}"  # as the terminal printed it
    return (
        f"<p>W&amp;B run: <code>{html.escape(str(wandb_dir))}</code> "
        f"(upload it with <code>{html.escape(command)}</code>, resumes included)</p>"
    )


def write_index(run_dir: str | Path, running: bool = False, wandb_dir: str | None = None) -> Path:
    """Write ``{run_dir}/index.html`` from the files in ``run_dir``; ``running`` makes it reload itself.

    ``wandb_dir`` is the local W&B run folder (else the one ``results.json`` names, if any).
    """
    run_dir = Path(run_dir)
    config = {**DEFAULTS, **(_read_json(run_dir / "config.json") or {})}  # an older run may lack newer keys
    history = _read_json(run_dir / "history.json") or []
    results = _read_json(run_dir / "results.json") or {}
    settings = RunConfig.from_dict(config)
    name = str(settings.bookkeeping.name or run_dir.name)
    metric = settings.validation.checkpoint_metric
    status = "training" if running else str(results.get("status") or "done")

    wandb_note = _wandb_note(wandb_dir or results.get("wandb_dir"), str(results.get("run_dir") or run_dir))
    refresh = f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">' if running else ""
    updated = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
{refresh}
<title>{html.escape(name)}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>{html.escape(name)}</h1>
<p class="meta">status: {html.escape(status)} &middot; model {html.escape(settings.training.model)} &middot;
classes: {html.escape(", ".join(str(c) for c in settings.data.classes or []))} &middot; updated {updated}</p>
{_metrics_table(history, metric)}
{wandb_note}
<h2>Curves</h2>
{_image(run_dir / "curves.png", run_dir, "training curves", "no curves yet (drawn after each epoch)")}
<h2>Confusion matrix (best epoch)</h2>
{_image(run_dir / "confusion_matrix.png", run_dir, "confusion matrix", "no confusion matrix yet")}
<h2>Predictions (latest gallery)</h2>
{_gallery_section(run_dir)}
<h2>Model graph</h2>
{_graph_section(run_dir)}
{_train_batch_section(run_dir)}
<p class="meta">files: <a href="config.json">config.json</a> &middot; <a href="history.json">history.json</a>
{'&middot; <a href="results.json">results.json</a>' if results else ""}</p>
</body>
</html>
"""
    path = run_dir / "index.html"
    write_text_atomic(path, page)
    return path


class IndexPage:
    """Rewrites ``{run_dir}/index.html`` with :func:`write_index`: reloading while training, final at the end.

    Args:
        run_dir: the run directory (its pictures, ``config.json`` and ``history.json`` make the page).
        wandb_dir: the local W&B run folder, named on the page; or None.

    Example::

        IndexPage(run_dir).attach(trainer)  # attach after the other pictures: it shows what they drew
    """

    def __init__(self, run_dir: str | Path, wandb_dir: str | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.wandb_dir = wandb_dir

    def attach(self, trainer: Engine) -> None:
        """Write at the start, after every epoch and at the end; a failure only warns (:func:`guarded`)."""
        trainer.add_event_handler(Events.STARTED, guarded("index.html", self), True)
        trainer.add_event_handler(Events.EPOCH_COMPLETED, guarded("index.html", self), True)
        trainer.add_event_handler(Events.COMPLETED, guarded("index.html", self), False)

    def __call__(self, _: Engine, running: bool = False) -> Path:
        return write_index(self.run_dir, running, self.wandb_dir)
