"""Baseline: torchvision resnet18, cross-entropy, Adam 0.005, 5 epochs (the seed's first config).

The class list comes from the data, so it runs on any ImageFolder-style dataset:

    python -m ignite_fire experiments/resnet18_baseline.py --data_dir=PATH
"""

config = {
    "model": "resnet18",
    "pretrained": True,
    "epochs": 5,
    "batch_size": 32,
    "learning_rate": 0.005,
    "optimizer": "Adam",
    "loss_function": "CrossEntropyLoss",
    "scheduler": "CosineAnnealingLR",
    "image_size": 224,
    "wandb_project": "tianchi-fire-safety",
}
