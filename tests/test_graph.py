"""The torchviz model graph: .dot always, PNG/SVG with Graphviz, a warning without it (the command: tests/commands)."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

from ignite_fire.graph import example_batch, export_graph
from ignite_fire.handlers import wandb_logging


def small_model() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wandb_logging, "_warned_once", set())


def test_graph_source_names_the_parameters_and_leaves_the_model_untouched(tmp_path: Path) -> None:
    model = small_model()
    model(torch.zeros(2, 3, 8, 8))  # materialise the lazy layer
    model.train()
    bn = model[1]
    before = (bn.running_mean.clone(), int(bn.num_batches_tracked))
    paths = export_graph(model, example_batch(model, (3, 8, 8)), tmp_path / "graph")
    assert paths[0] == tmp_path / "graph.dot"
    source = paths[0].read_text()
    assert source.startswith("digraph") and "0.weight" in source and "4.bias" in source
    assert model.training, "the model's mode is restored"
    assert torch.equal(bn.running_mean, before[0]) and int(bn.num_batches_tracked) == before[1]
    assert all(p.grad is None for p in model.parameters()), "no backward pass"


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
def test_png_and_svg_are_drawn_when_graphviz_is_installed(tmp_path: Path) -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(144, 2))
    paths = export_graph(model, example_batch(model, (3, 8, 8)), tmp_path / "graph.dot")
    assert [p.name for p in paths] == ["graph.dot", "graph.png", "graph.svg"]
    with Image.open(tmp_path / "graph.png") as picture:
        picture.verify()
    with Image.open(tmp_path / "graph.png") as picture:
        assert picture.width > 50 and picture.height > 100
    assert "<svg" in (tmp_path / "graph.svg").read_text()


def test_without_graphviz_only_the_dot_file_and_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_warnings: None
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no `dot` anywhere
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 2))
    with pytest.warns(RuntimeWarning, match="Graphviz `dot` is not installed.*apt-get install graphviz"):
        paths = export_graph(model, example_batch(model, (3, 2, 2)), tmp_path / "graph")
    assert paths == [tmp_path / "graph.dot"]
    assert not (tmp_path / "graph.png").exists()


def test_a_failing_dot_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_warnings: None) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "dot"
    fake.write_text("#!/bin/sh\necho 'Error: syntax error in line 1' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = export_graph(model, example_batch(model, (3, 2, 2)), tmp_path / "graph")
    assert [str(w.message) for w in caught if w.category is RuntimeWarning] == [
        f"Graphviz `dot` could not draw graph.{fmt}: Error: syntax error in line 1" for fmt in ("png", "svg")
    ]
    assert paths == [tmp_path / "graph.dot"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "graph.dot"]  # no temporary files left
