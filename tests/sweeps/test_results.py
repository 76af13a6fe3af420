"""trials.png: the log axis of a searched learning rate has labels that can be read (none overlap)."""

from __future__ import annotations

import pytest

from ignite_fire.sweeps.results import log_axis


@pytest.mark.parametrize("low, high", [(0.001, 0.03), (1e-6, 0.1), (0.05, 0.2), (1e-4, 1e-2)])
def test_log_axis_labels_do_not_overlap(low: float, high: float) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.2, 3.6), layout="constrained")  # one panel of trials.png
    canvas = FigureCanvasAgg(figure)
    ax = figure.subplots()
    ax.scatter([low, high], [0.1, 0.9])
    log_axis(ax, low, high)
    canvas.draw()
    renderer = canvas.get_renderer()
    labels = [t for t in ax.get_xticklabels(which="both") if t.get_visible() and t.get_text()]
    boxes = sorted((t.get_window_extent(renderer) for t in labels), key=lambda b: b.x0)
    inside = [b for b in boxes if ax.bbox.x0 - 1 <= (b.x0 + b.x1) / 2 <= ax.bbox.x1 + 1]
    assert len(inside) >= 2, [t.get_text() for t in labels]
    for left, right in zip(inside, inside[1:], strict=False):
        assert left.x1 < right.x0, [t.get_text() for t in labels]
    assert all("times" not in t.get_text() and "^" not in t.get_text() for t in labels)  # plain numbers
