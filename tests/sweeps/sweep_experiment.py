"""A tiny experiment with a sweep, for the sweep tests: linear models on 16 px digits, CPU, no workers.

Its search space mirrors experiments/sweep_bayes.py (learning rate, batch size, model) with models
small enough that a trial takes a few seconds.
"""

from torch import nn

config = {
    "model": "linear",
    "pretrained": False,
    "image_size": 16,
    "epochs": 1,
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
    "wandb_project": "ignite_fire-tests",
}

sweep = {
    "method": "bayes",
    "metric": {"name": "val_acc", "goal": "maximize"},
    "parameters": {
        "learning_rate": {"distribution": "log_uniform_values", "min": 0.001, "max": 0.03},
        "batch_size": {"values": [16, 32]},
        "model": {"values": ["linear", "mlp"]},
    },
}


def build_model(config, num_classes):
    features = 3 * config["image_size"] ** 2
    if config["model"] == "linear":
        return nn.Sequential(nn.Flatten(), nn.Linear(features, num_classes))
    if config["model"] == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(features, 32), nn.ReLU(), nn.Linear(32, num_classes))
    raise ValueError(f"unknown model {config['model']}")
