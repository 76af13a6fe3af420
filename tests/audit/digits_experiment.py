"""A small MLP on the 16 px digits, without crops or flips (digits are not mirror images): good enough
out of fold (about 90% accuracy) for the flipped labels to stand out among the label issues."""

import torchvision.transforms as T
from torch import nn

config = {
    "model": "digits_mlp",
    "pretrained": False,
    "image_size": 16,
    "epochs": 15,
    "batch_size": 16,
    "learning_rate": 0.003,
    "optimizer": "Adam",
    "scheduler": "CosineAnnealingLR",
    "amp": False,
    "device": "cpu",
    "num_workers": 0,
    "log_every": 50,
    "seed": 0,
    "n_saved": 1,
    "wandb_project": "ignite_fire-tests",
    "wandb_mode": "disabled",
    "plots": False,
    "graph": False,
    "watch": None,
}


def build_transforms(config):
    same = T.Compose([T.Resize(config["image_size"]), T.ToTensor(), T.Normalize([0.5] * 3, [0.5] * 3)])
    return same, same


def build_model(config, num_classes):
    side = config["image_size"]
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * side * side, 128), nn.ReLU(), nn.Linear(128, num_classes))
