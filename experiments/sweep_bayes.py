"""The seed's Bayesian sweep: learning rate, batch size and model, maximizing val_acc.

    python -m ignite_fire sweep experiments/sweep_bayes.py --data_dir=PATH --count=10
    python -m ignite_fire sweep experiments/sweep_bayes.py --data_dir=PATH --count=4 --epochs=1 --model=resnet18
    python -m ignite_fire sweep-status runs/sweep_bayes-YYYYMMDD-HHMMSS

Runs on this machine with Optuna (no W&B server needed); ``--backend=wandb`` sends the same
dict to ``wandb.sweep`` when you are online. The seed searched the learning rate uniformly in
[1e-4, 1e-2]; here it is log-uniform over the same range, so small rates get as many trials as
large ones. Pretrained weights are read from the torch hub cache (see ignite_fire.models).
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

sweep = {
    "method": "bayes",
    "metric": {"name": "val_acc", "goal": "maximize"},
    "parameters": {
        "learning_rate": {"distribution": "log_uniform_values", "min": 0.0001, "max": 0.01},
        "batch_size": {"values": [16, 32, 64]},
        "model": {"values": ["resnet18", "efficientnet_b0", "efficientnet_b4"]},
    },
    # W&B's hyperband: after epoch 2 (and 6, 18, ...) stop a trial that is not in the best third.
    "early_terminate": {"type": "hyperband", "min_iter": 2, "eta": 3},
}
