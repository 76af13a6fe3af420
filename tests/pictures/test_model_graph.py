"""The torchviz model graph: .dot always, PNG/SVG with Graphviz, a warning without it; the GraphExport handler."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
import torch
from ignite.engine import Engine
from PIL import Image
from torch import nn

from ignite_fire.pictures.model_graph import GraphExport, example_batch, export_graph


def small_model() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.LazyLinear(2))


def fake_dot(folder: Path, script: str) -> None:
    """A ``dot`` program on PATH that runs ``script`` (sh)."""
    folder.mkdir()
    fake = folder / "dot"
    fake.write_text("#!/bin/sh\n" + script)
    fake.chmod(0o755)


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
    fake_dot(tmp_path / "bin", "echo 'Error: syntax error in line 1' >&2\nexit 1\n")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = export_graph(model, example_batch(model, (3, 2, 2)), tmp_path / "graph")
    assert [str(w.message) for w in caught if w.category is RuntimeWarning] == [
        f"Graphviz `dot` could not draw graph.{fmt}: Error: syntax error in line 1" for fmt in ("png", "svg")
    ]
    assert paths == [tmp_path / "graph.dot"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "graph.dot"]  # no temporary files left


def test_dot_output_is_renamed_into_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The fake dot writes its format name to the -o path ($4): the temporary file beside the target.
    fake_dot(tmp_path / "bin", 'case "$4" in */.graph.*.tmp) printf %s "$1" > "$4";; *) exit 3;; esac\n')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 2))
    paths = export_graph(model, example_batch(model, (3, 2, 2)), tmp_path / "graph")
    assert [p.name for p in paths] == ["graph.dot", "graph.png", "graph.svg"]
    assert (tmp_path / "graph.png").read_text() == "-Tpng" and (tmp_path / "graph.svg").read_text() == "-Tsvg"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "graph.dot", "graph.png", "graph.svg"]


def test_graph_export_draws_at_the_start_of_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # .dot only: no Graphviz
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(16, 2))
    trainer = Engine(lambda e, b: None)
    GraphExport(model, (3, 4, 4), tmp_path / "run").attach(trainer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Graphviz `dot` is not installed"
        trainer.run([0], max_epochs=1)
    assert "(1, 2)" in (tmp_path / "run" / "model_graph.dot").read_text()  # the output's shape
    with pytest.raises(ValueError, match=r"Argument image_shape should be three positive integers \(C, H, W\)"):
        GraphExport(model, (4, 4), tmp_path)
