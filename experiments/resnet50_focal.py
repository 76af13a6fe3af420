"""The seed script's complete recipe (resnet50-cosine-lr) for the Tianchi fire-safety task.

resnet50 with ImageNet weights (from the local torch cache) and a 5-class head, FocalLoss
(alpha 0.25, gamma 2), Adam 0.003, CosineAnnealingLR(T_max=10) stepped per epoch, AMP on the GPU,
10 epochs, batch 32. The five classes are named here, so data with other classes is an error.

    python -m ignite_fire experiments/resnet50_focal.py --data_dir=PATH_TO_TIANCHI_DATA
"""

config = {
    "model": "resnet50",
    "pretrained": True,
    "classes": ["高风险", "中风险", "低风险", "无风险", "非楼道"],
    "epochs": 10,
    "batch_size": 32,
    "learning_rate": 0.003,
    "optimizer": "Adam",
    "loss_function": "FocalLoss",
    "focal_alpha": 0.25,
    "focal_gamma": 2.0,
    "scheduler": "CosineAnnealingLR",
    "scheduler_interval": "epoch",
    "cosine_t_max": 10,
    "amp": "auto",  # bf16 autocast on the GPU (fp16 + GradScaler where bf16 is missing)
    "image_size": 224,
    "checkpoint_metric": "val_acc",
    "wandb_project": "tianchi-fire-safety",
}
