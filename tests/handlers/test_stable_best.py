"""checkpoints/best.pt is always a whole copy of the current best of the n_saved files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ignite.engine import Engine, Events
from ignite.handlers import Checkpoint

from ignite_fire.handlers.checkpoints import Value
from ignite_fire.handlers.disk_saver import SafeDiskSaver
from ignite_fire.handlers.stable_best import BEST_CHECKPOINT, StableBest


def test_best_pt_follows_the_best_score(tmp_path: Path) -> None:
    scores = [0.5, 0.7, 0.6, 0.9, 0.8]
    model = torch.nn.Linear(2, 2)
    evaluator = Engine(lambda engine, batch: None)
    epoch = Value(0)
    checkpointer = Checkpoint(
        {"model": model, "meta": Value(getter=lambda: {"epoch": epoch.value})},
        SafeDiskSaver(tmp_path),
        filename_prefix="best",
        score_function=lambda engine: scores[epoch.value - 1],
        score_name="val_acc",
        n_saved=2,
        global_step_transform=lambda *_: epoch.value,
    )
    evaluator.add_event_handler(Events.COMPLETED, checkpointer)
    stable = StableBest(checkpointer, tmp_path)
    stable.attach(evaluator)
    best_epochs = []
    for number in range(1, len(scores) + 1):
        epoch.value = number
        with torch.no_grad():
            model.weight.fill_(number)  # each epoch's weights are recognisable
        evaluator.run([0])
        saved = torch.load(tmp_path / BEST_CHECKPOINT, weights_only=True)
        best_epochs.append(saved["meta"]["epoch"])
        assert torch.equal(saved["model"]["weight"], torch.full((2, 2), float(best_epochs[-1])))
        assert (tmp_path / BEST_CHECKPOINT).read_bytes() == Path(checkpointer.last_checkpoint).read_bytes()
    assert best_epochs == [1, 2, 2, 4, 4]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "best.pt",
        "best_checkpoint_4_val_acc=0.9000.pt",
        "best_checkpoint_5_val_acc=0.8000.pt",
    ]  # beside the n_saved files, and no temporary file left


def test_rejects_what_is_not_a_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="Argument checkpointer should be a Checkpoint"):
        StableBest(object(), tmp_path)  # type: ignore[arg-type]


@pytest.mark.slow
def test_a_run_with_a_relative_output_dir_keeps_best_pt(
    digits_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's quickstart writes to the relative runs/: best.pt must follow its best file there too."""
    from ignite_fire.experiment import load_experiment
    from ignite_fire.training import train
    from tests.helpers import TINY_EXPERIMENT

    monkeypatch.chdir(tmp_path)
    overrides = {"data_dir": str(digits_dir), "output_dir": "runs", "name": "relative", "epochs": 2}
    results = train(load_experiment(TINY_EXPERIMENT, {**overrides, "wandb_mode": "disabled"}))
    best = Path(results["best_checkpoint"])
    assert not best.is_absolute() and best.parent == Path("runs/relative/checkpoints")
    copy = torch.load(best.parent / BEST_CHECKPOINT, weights_only=True)
    assert torch.equal(copy["model"]["0.weight"], torch.load(best, weights_only=True)["model"]["0.weight"])
