"""Grad-CAM: the heat falls where the class is decided, for torchvision and timm conv nets, during training too."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from ignite_fire.errors import UserError
from ignite_fire.experiment import load_experiment
from ignite_fire.pictures.gradcam import GradCam, find_target_layer
from ignite_fire.training import train
from tests.helpers import TINY_EXPERIMENT

pytest.importorskip("pytorch_grad_cam", reason="Grad-CAM needs the grad-cam package (pip install -e .[explain])")


class AddCoordinates(nn.Module):
    """Two more channels, x and y in [-1, 1]: lets a conv net with global pooling tell where a patch is."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        n, _, h, w = images.shape
        ys = torch.linspace(-1, 1, h).view(1, 1, h, 1).expand(n, 1, h, w)
        xs = torch.linspace(-1, 1, w).view(1, 1, 1, w).expand(n, 1, h, w)
        return torch.cat([images, xs, ys], dim=1)


def patch_images(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """32 px noise with one bright 8x8 patch; the class is the quadrant it is in. (images, labels, patch masks)."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(count, 3, 32, 32, generator=generator) * 0.2
    labels = torch.randint(0, 4, (count,), generator=generator)
    masks = torch.zeros(count, 32, 32, dtype=torch.bool)
    for i, label in enumerate(labels.tolist()):
        offset = torch.randint(0, 9, (2,), generator=generator).tolist()  # a random place inside the quadrant
        top, left = (label // 2) * 16 + offset[0], (label % 2) * 16 + offset[1]
        images[i, :, top : top + 8, left : left + 8] = 1.0
        masks[i, top : top + 8, left : left + 8] = True
    return (images - 0.5) / 0.5, labels, masks


@pytest.mark.slow
def test_the_heat_falls_on_the_patch_that_decides_the_class() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(
        AddCoordinates(),
        nn.Conv2d(5, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 4),
    )
    images, labels, _ = patch_images(512, seed=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(5):
        for start in range(0, len(images), 32):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(images[start : start + 32]), labels[start : start + 32]).backward()
            optimizer.step()
    model.eval()
    test_images, test_labels, masks = patch_images(16, seed=1)
    assert (model(test_images).argmax(1) == test_labels).float().mean() >= 0.9

    model.train()  # as between training epochs: Grad-CAM must leave the mode and the gradients as they were
    grads = [p.grad.clone() for p in model.parameters()]
    cam = GradCam(model, (3, 32, 32), mean=(0.5,) * 3, std=(0.5,) * 3)
    heat = cam.heatmaps(test_images, test_labels.tolist())

    assert cam.layer_name == "5"  # the last ReLU before the global pooling: the last conv block
    assert heat.shape == (16, 32, 32) and heat.min() >= 0 and heat.max() <= 1
    inside = np.array([h[m].mean() for h, m in zip(heat, masks.numpy(), strict=True)])
    outside = np.array([h[~m].mean() for h, m in zip(heat, masks.numpy(), strict=True)])
    assert (inside > 2 * outside).all(), (inside.round(2), outside.round(2))
    assert model.training and all(torch.equal(p.grad, g) for p, g in zip(model.parameters(), grads, strict=True))
    overlays = cam.overlays(test_images[:2], [0, 1])
    assert [o.shape for o in overlays] == [(32, 32, 3)] * 2 and overlays[0].dtype == np.uint8


@pytest.mark.parametrize(
    ("name", "layer"), [("resnet18", "layer4"), ("mobilenet_v3_small", "features"), ("convnext_tiny", "features")]
)
def test_the_last_conv_block_of_torchvision_models(name: str, layer: str) -> None:
    import torchvision

    model = torchvision.models.get_model(name, weights=None, num_classes=3).eval()
    assert find_target_layer(model, (3, 64, 64))[0] == layer
    heat = GradCam(model, (3, 64, 64)).heatmaps(torch.randn(2, 3, 64, 64), [0, 2])
    assert heat.shape == (2, 64, 64)


@pytest.mark.parametrize(("name", "layer"), [("resnet18", "layer4"), ("efficientnet_b0", "bn2")])
def test_the_last_conv_block_of_timm_models(name: str, layer: str) -> None:
    timm = pytest.importorskip("timm", reason="timm is not installed")
    model = timm.create_model(name, pretrained=False, num_classes=3).eval()
    assert find_target_layer(model, (3, 64, 64))[0] == layer
    heat = GradCam(model, (3, 64, 64)).heatmaps(torch.randn(2, 3, 64, 64), [1, 1])
    assert heat.shape == (2, 64, 64)


def test_a_model_without_feature_maps_is_a_user_error() -> None:
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2))
    with pytest.raises(UserError, match="Grad-CAM needs a conv net, but Sequential has no"):
        GradCam(mlp, (3, 8, 8))
    with pytest.raises(UserError, match="--layer='head' is not a module of Sequential"):
        GradCam(mlp, (3, 8, 8), layer="head")


@pytest.mark.slow
def test_a_run_with_gradcam_overlays_its_mistakes_in_the_gallery_and_the_wandb_table(
    digits_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    overrides = {"data_dir": str(digits_dir), "output_dir": str(tmp_path), "name": "cam", "epochs": 1}
    overrides |= {"plots": True, "graph": False, "gradcam": True, "gallery_size": 12}
    results = train(load_experiment(TINY_EXPERIMENT, overrides))

    run_dir = Path(results["run_dir"])
    assert (run_dir / "gallery_epoch1.png").is_file()
    tables = list((run_dir / "wandb").glob("offline-run-*/files/media/table/val_predictions_*.table.json"))
    assert len(tables) == 1
    table = json.loads(tables[0].read_text())
    assert table["columns"][-1] == "gradcam"
    kinds = [(row[4], row[-1]) for row in table["data"]]
    assert any(kind == "mistake" for kind, _ in kinds), "the 1-epoch run made no mistake to explain"
    assert all(cam == ("Image" if kind == "mistake" else None) for kind, cam in kinds), kinds  # W&B's table json
