"""The trainer's update step and the evaluator, used directly as in a custom script."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ignite.engine import Events
from torch import nn
from torch.utils.data import DataLoader

from ignite_fire import attach_validation_metrics, create_evaluator, create_trainer
from ignite_fire.engines import resolve_amp
from ignite_fire.handlers.train_stats import TrainStats


def digits_loaders(digits_dir: Path) -> tuple[DataLoader, DataLoader, list[str]]:
    from torchvision import transforms as T

    from ignite_fire.config import DEFAULTS
    from ignite_fire.data.datasets import build_datasets

    tf = T.Compose([T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3)])
    splits = build_datasets({**DEFAULTS, "data_dir": str(digits_dir), "num_workers": 0}, (tf, tf))
    return DataLoader(splits.train, batch_size=16, shuffle=True), DataLoader(splits.val, batch_size=64), splits.classes


def small_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(128, 10)
    )


@pytest.mark.slow
def test_custom_script_trains_and_validates(digits_dir: Path) -> None:
    train_loader, val_loader, classes = digits_loaders(digits_dir)
    model = small_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    trainer = create_trainer(model, optimizer, nn.CrossEntropyLoss(), device="cpu", amp="auto", grad_clip=5.0)
    evaluator = create_evaluator(model, device="cpu")
    attach_validation_metrics(evaluator, classes, nn.CrossEntropyLoss())
    TrainStats(log_every=5).attach(trainer)
    accuracies = []
    trainer.add_event_handler(
        Events.EPOCH_COMPLETED, lambda: accuracies.append(evaluator.run(val_loader).metrics["val_acc"])
    )
    trainer.run(train_loader, max_epochs=4)
    assert trainer.state.amp is False  # auto = fp32 on a CPU
    assert accuracies[-1] > 0.5 > 0.1  # 10 classes: chance is 0.1
    metrics = evaluator.state.metrics
    assert metrics["val_confusion_matrix"].sum().item() == len(val_loader.dataset)
    assert 0 < metrics["val_macro_f1"] <= 1 and "val_f1/7" in metrics


def test_gradient_accumulation_matches_one_big_batch() -> None:
    torch.manual_seed(1)
    x, y = torch.randn(8, 3, 4, 4), torch.randint(0, 3, (8,))

    def final_weights(batches: list, accumulation_steps: int) -> torch.Tensor:
        torch.manual_seed(2)
        model = nn.Sequential(nn.Flatten(), nn.Linear(48, 3))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
        trainer = create_trainer(model, optimizer, nn.CrossEntropyLoss(), accumulation_steps=accumulation_steps)
        trainer.run(batches, max_epochs=1)
        return model[1].weight.detach().clone()

    whole = final_weights([(x, y)], 1)
    halves = final_weights([(x[:4], y[:4]), (x[4:], y[4:])], 2)
    assert torch.allclose(whole, halves, atol=1e-6)


def test_gradient_clipping_bounds_the_step() -> None:
    model = nn.Linear(4, 2)
    before = model.weight.detach().clone()
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    trainer = create_trainer(model, optimizer, lambda out, y: out.sum() * 1e6, grad_clip=0.1)
    trainer.run([(torch.ones(2, 4), torch.zeros(2))], max_epochs=1)
    assert (model.weight.detach() - before).norm() <= 0.1 + 1e-5


def test_amp_modes_resolve_to_what_the_device_can_run() -> None:
    cpu = torch.device("cpu")
    assert resolve_amp("auto", cpu) is False
    with pytest.warns(UserWarning, match="--amp=fp16 needs CUDA: on cpu it runs as bf16"):
        assert resolve_amp("fp16", cpu) == "bf16"  # GradScaler needs CUDA
    assert resolve_amp("bf16", cpu) == "bf16"
    with pytest.raises(ValueError, match="amp must be one of"):
        resolve_amp("fp8", cpu)


def test_bf16_step_on_cpu_runs_and_reports_device_tensors() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 3))
    trainer = create_trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(), amp="bf16")
    state = trainer.run([(torch.randn(4, 3, 2, 2), torch.tensor([0, 1, 2, 0]))], max_epochs=1)
    assert isinstance(state.output["loss"], torch.Tensor) and state.output["loss"].dtype == torch.float32
    assert state.output["count"] == 4 and not state.output["nonfinite"].item()
