"""torchvision efficientnet_b0, cross-entropy, Adam 0.003; classes come from the data.

python -m ignite_fire experiments/efficientnet_b0.py --data_dir=PATH
"""

config = {
    "model": "efficientnet_b0",
    "pretrained": True,
    "epochs": 10,
    "batch_size": 32,
    "learning_rate": 0.003,
    "optimizer": "Adam",
    "loss_function": "CrossEntropyLoss",
    "scheduler": "CosineAnnealingLR",
    "image_size": 224,
    "wandb_project": "tianchi-fire-safety",
}
