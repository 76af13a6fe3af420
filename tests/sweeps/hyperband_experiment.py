"""The sweep tests' experiment with hyperband early termination, and two models that learn nothing.

``blind`` ignores its input (it always predicts the same class: val_acc 0.1 on ten balanced
digits); ``nan`` produces NaN losses, so its trials fail.
"""

import torch
from torch import nn

config = {
    "model": "linear",
    "pretrained": False,
    "image_size": 16,
    "epochs": 2,
    "batch_size": 32,
    "learning_rate": 0.01,
    "optimizer": "Adam",
    "scheduler": None,
    "amp": False,
    "device": "cpu",
    "channels_last": False,
    "num_workers": 0,
    "log_every": 5,
    "seed": 0,
    "graph": False,
    "gallery_every": 0,
    "wandb_mode": "disabled",
}

sweep = {
    "method": "random",
    "metric": {"name": "val_acc", "goal": "maximize"},
    "parameters": {"model": {"values": ["linear", "blind", "nan"]}},
    "early_terminate": {"type": "hyperband", "min_iter": 1, "eta": 3},
}


class Blind(nn.Module):
    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bias.expand(x.shape[0], -1)


class NaN(nn.Module):
    def __init__(self, features: int, num_classes: int) -> None:
        super().__init__()
        self.linear = nn.Linear(features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1)) * float("nan")


def build_model(config, num_classes):
    features = 3 * config["image_size"] ** 2
    if config["model"] == "blind":
        return Blind(num_classes)
    if config["model"] == "nan":
        return NaN(features, num_classes)
    return nn.Sequential(nn.Flatten(), nn.Linear(features, num_classes))
