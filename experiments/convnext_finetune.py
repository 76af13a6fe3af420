"""Fine-tune a timm ConvNeXt-Tiny (ImageNet-22k weights) on the Tianchi fire-safety task.

The standard recipe for a few thousand photos: AdamW with layer-wise LR decay 0.75 (the head at
the full rate, every earlier stage slower), no weight decay on norms and biases, drop path 0.1,
TrivialAugment and RandomErasing, a short warm-up then cosine decay, and an EMA of the weights
for validation and the best checkpoint. Weights come from the Hugging Face cache (offline); see
the README section "Stronger models".

    python -m ignite_fire experiments/convnext_finetune.py --data_dir=PATH_TO_TIANCHI_DATA
    python -m ignite_fire lr-find experiments/convnext_finetune.py --data_dir=PATH_TO_TIANCHI_DATA
"""

config = {
    "model": "timm/convnext_tiny.fb_in22k",
    "pretrained": True,
    "classes": ["高风险", "中风险", "低风险", "无风险", "非楼道"],
    "epochs": 15,
    "batch_size": 32,
    "image_size": 224,
    "optimizer": "AdamW",
    "learning_rate": 0.0005,
    "weight_decay": 0.05,
    "layer_decay": 0.75,
    "drop_path_rate": 0.1,
    "scheduler": "CosineAnnealingLR",
    "warmup_epochs": 1.0,
    "label_smoothing": 0.1,
    "augment": "trivialaugment",
    "random_erasing": 0.25,
    "ema_decay": 0.999,
    "checkpoint_metric": "val_score",
    "wandb_project": "tianchi-fire-safety",
}
