"""A tiny, fast experiment for tests: a two-layer CNN at 16 px on the CPU, no workers."""

from torch import nn

config = {
    "model": "tiny_cnn",
    "pretrained": False,
    "image_size": 16,
    "epochs": 3,
    "batch_size": 16,
    "learning_rate": 0.01,
    "optimizer": "Adam",
    "scheduler": "CosineAnnealingLR",
    "amp": False,
    "device": "cpu",
    "num_workers": 0,
    "log_every": 5,
    "seed": 0,
    "n_saved": 1,
    "wandb_project": "ignite_fire-tests",
    "plots": False,  # tests/pictures/test_attach.py turns the pictures on where it checks them
    "watch": None,
}


def build_model(config, num_classes):
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, num_classes),
    )
