"""Grad-CAM: where a conv net looked when it chose a class, drawn over the image.

The heat maps come from the ``grad-cam`` package (pytorch-grad-cam, ``pip install -e .[explain]``);
this module finds the layer to explain and keeps the model as it was (mode and gradients), so it
can run between training epochs. The target layer is found generically, for torchvision and timm
conv nets alike: the last module, in the order the forward pass finishes them, whose output is a
(N, C, H, W) feature map larger than 1x1 and that is not a pooling layer (ResNet: ``layer4``;
EfficientNet/ConvNeXt: ``features``; timm EfficientNet: ``bn2``).

Example::

    cam = GradCam(model, image_shape=(3, 224, 224))
    overlays = cam.overlays(images, classes=[2, 0])  # list of (H, W, 3) uint8 pictures
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from ignite_fire.data.transforms import IMAGENET_MEAN, IMAGENET_STD, denormalize
from ignite_fire.errors import UserError

POOLS = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.AvgPool2d, nn.MaxPool2d)


def _is_pool(module: nn.Module) -> bool:
    return isinstance(module, POOLS) or "pool" in type(module).__name__.lower()  # timm's SelectAdaptivePool2d


def _device_of(model: nn.Module) -> torch.device:
    tensor = next(model.parameters(), None)
    return tensor.device if tensor is not None else torch.device("cpu")


def feature_maps(model: nn.Module, image_shape: Sequence[int]) -> list[tuple[str, nn.Module, tuple[int, ...]]]:
    """``(name, module, output shape)`` of each submodule with a 4-D output, in the order the forward pass ends them."""
    found: list[tuple[str, nn.Module, tuple[int, ...]]] = []
    hooks = []
    for name, module in model.named_modules():
        if module is model:
            continue

        def hook(module: nn.Module, _: Any, output: Any, name: str = name) -> None:
            if isinstance(output, torch.Tensor) and output.dim() == 4:
                found.append((name, module, tuple(output.shape)))

        hooks.append(module.register_forward_hook(hook))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *image_shape, device=_device_of(model)))
    finally:
        for handle in hooks:
            handle.remove()
        model.train(was_training)
    return found


def find_target_layer(model: nn.Module, image_shape: Sequence[int]) -> tuple[str, nn.Module]:
    """``(name, module)`` of the last conv block: the last non-pooling 4-D feature map, preferring those over 1x1."""
    maps = [(name, module, shape) for name, module, shape in feature_maps(model, image_shape) if not _is_pool(module)]
    if not maps:
        raise UserError(
            f"Grad-CAM needs a conv net, but {type(model).__name__} has no (N, C, H, W) feature map; "
            "use a CNN (resnet, efficientnet, convnext...) or turn --gradcam off"
        )
    spatial = [m for m in maps if m[2][2] * m[2][3] > 1]
    name, module, _ = (spatial or maps)[-1]
    return name, module


@contextmanager
def kept_as_is(model: nn.Module) -> Iterator[None]:
    """Restore the model's train/eval mode and every parameter's ``.grad`` afterwards (grad-cam changes both)."""
    was_training = model.training
    grads = [(p, p.grad) for p in model.parameters()]
    try:
        yield
    finally:
        model.train(was_training)
        for parameter, grad in grads:
            parameter.grad = grad


def _grad_cam_package() -> Any:
    try:
        import pytorch_grad_cam
    except ImportError as error:
        raise UserError(
            "Grad-CAM needs the grad-cam package: pip install grad-cam (or pip install -e .[explain])"
        ) from error
    return pytorch_grad_cam


class GradCam:
    """Grad-CAM heat maps and overlays of ``model`` (a conv net), through the grad-cam package.

    Args:
        model: the classifier; it is left in the mode it was in, with its gradients untouched.
        image_shape: (C, H, W) of one input image, to find the target layer.
        mean: per-channel mean the inputs were normalised with (to draw them in their colours).
        std: per-channel std the inputs were normalised with.
        layer: name of the module to explain (``model.get_submodule(layer)``); None = the last conv block.
        image_weight: weight of the image in the overlay, in [0, 1] (the heat map gets the rest).

    Example::

        cam = GradCam(model, (3, 32, 32), mean=(0.5,) * 3, std=(0.5,) * 3)
        heat = cam.heatmaps(images, [1, 1])  # (2, 32, 32) in [0, 1]
    """

    def __init__(
        self,
        model: nn.Module,
        image_shape: Sequence[int],
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        layer: str | None = None,
        image_weight: float = 0.5,
    ) -> None:
        if len(image_shape) != 3:
            raise ValueError(f"Argument image_shape should be (C, H, W), got {tuple(image_shape)}")
        if len(mean) != len(std) or any(s == 0 for s in std):
            raise ValueError(f"Arguments mean and std should have the same length and no zero std, got {mean}, {std}")
        if not 0.0 <= image_weight <= 1.0:
            raise ValueError(f"Argument image_weight should be in [0, 1], got {image_weight}")
        _grad_cam_package()  # a missing package is a one-line error now, not a warning at every gallery
        self.model = model
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.image_weight = float(image_weight)
        if layer is None:
            self.layer_name, self.layer = find_target_layer(model, image_shape)
        else:
            try:
                self.layer_name, self.layer = layer, model.get_submodule(layer)
            except AttributeError as error:
                raise UserError(f"--layer={layer!r} is not a module of {type(model).__name__}") from error

    def heatmaps(self, images: torch.Tensor, classes: Sequence[int]) -> np.ndarray:
        """(N, H, W) float32 maps in [0, 1] of where ``images`` (normalised, N x C x H x W) show ``classes``."""
        package = _grad_cam_package()
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        if len(classes) != len(images):
            raise ValueError(f"Arguments images and classes should have the same length, got {len(images)}, {classes}")
        inputs = images.detach().float().to(_device_of(self.model)).requires_grad_(True)  # frozen backbones too
        targets = [ClassifierOutputTarget(int(c)) for c in classes]
        with kept_as_is(self.model), torch.enable_grad():
            with package.GradCAM(model=self.model, target_layers=[self.layer]) as cam:
                maps = cam(input_tensor=inputs, targets=targets)
        return np.nan_to_num(np.asarray(maps, dtype=np.float32)).clip(0.0, 1.0)

    def overlays(self, images: torch.Tensor, classes: Sequence[int]) -> list[np.ndarray]:
        """(H, W, 3) uint8 pictures: each image in its colours with its heat map (jet colours) over it."""
        from pytorch_grad_cam.utils.image import show_cam_on_image

        maps = self.heatmaps(images, classes)
        pictures = denormalize(images.detach().cpu().float(), self.mean, self.std).permute(0, 2, 3, 1).numpy()
        weight = self.image_weight
        return [
            show_cam_on_image(np.ascontiguousarray(p, dtype=np.float32), m, use_rgb=True, image_weight=weight)
            for p, m in zip(pictures, maps, strict=True)
        ]


# --- Drawing a heat map over the original image (explain) ----------------------------------------------------------

MIN_LONG_SIDE = 384  # smaller originals are scaled up to this, so the heat map can be read
MAX_LONG_SIDE = 1024  # camera-size originals are scaled down to this: the file stays small


def view_box(transform: Any, size: tuple[int, int]) -> tuple[float, float, float, float] | None:
    """The region (left, top, right, bottom) of an original image of ``size`` (W, H) that ``transform`` shows the
    model: its Resize and CenterCrop steps followed back; None for a step whose geometry is not known here."""
    from torchvision import transforms as T

    width, height = float(size[0]), float(size[1])
    box = [0.0, 0.0, width, height]
    for step in getattr(transform, "transforms", [transform]):
        scale_x, scale_y = (box[2] - box[0]) / width, (box[3] - box[1]) / height  # original pixels per pixel now
        if isinstance(step, T.Resize):
            if isinstance(step.size, int) or len(step.size) == 1:
                side = step.size if isinstance(step.size, int) else step.size[0]
                factor = side / min(width, height)
                width, height = width * factor, height * factor
            else:
                height, width = float(step.size[0]), float(step.size[1])
        elif isinstance(step, T.CenterCrop):
            crop_h, crop_w = (step.size, step.size) if isinstance(step.size, int) else tuple(step.size)
            if crop_w > width + 0.5 or crop_h > height + 0.5:
                return None  # padded: not a region of the original
            left, top = (width - crop_w) / 2, (height - crop_h) / 2
            box = [box[0] + left * scale_x, box[1] + top * scale_y, 0.0, 0.0]
            box[2], box[3] = box[0] + crop_w * scale_x, box[1] + crop_h * scale_y
            width, height = float(crop_w), float(crop_h)
        elif not isinstance(step, (T.ToTensor, T.Normalize, T.PILToTensor, T.ConvertImageDtype)):
            return None
    return box[0], box[1], box[2], box[3]


def heat_over(
    original: Any, heatmap: np.ndarray, box: tuple[float, float, float, float] | None, image_weight: float = 0.5
) -> np.ndarray:
    """(H, W, 3) uint8: the original image (long side scaled into 384..1024 px) with ``heatmap`` (jet colours)
    over the region ``box`` the model saw (the whole image when ``box`` is None); the rest outlined, not coloured."""
    from matplotlib import colormaps
    from PIL import Image, ImageDraw

    image = original.convert("RGB")
    long_side = max(image.size)
    factor = min(max(1.0, MIN_LONG_SIDE / long_side), MAX_LONG_SIDE / long_side)
    shown = image.resize((round(image.width * factor), round(image.height * factor)), Image.Resampling.BICUBIC)
    box = box or (0.0, 0.0, float(image.width), float(image.height))
    left, top = round(box[0] * factor), round(box[1] * factor)
    right, bottom = min(shown.width, round(box[2] * factor)), min(shown.height, round(box[3] * factor))
    heat = Image.fromarray(np.asarray(heatmap, dtype=np.float32), mode="F").resize(
        (right - left, bottom - top), Image.Resampling.BILINEAR
    )
    colours = colormaps["jet"](np.clip(np.asarray(heat), 0.0, 1.0))[..., :3]
    pixels = np.asarray(shown, dtype=np.float32) / 255.0
    region = pixels[top:bottom, left:right]
    pixels[top:bottom, left:right] = image_weight * region + (1 - image_weight) * colours
    picture = Image.fromarray((pixels.clip(0, 1) * 255).round().astype(np.uint8))
    if (left, top, right, bottom) != (0, 0, shown.width, shown.height):
        ImageDraw.Draw(picture).rectangle((left, top, right - 1, bottom - 1), outline=(255, 255, 255), width=2)
    return np.asarray(picture)


def captioned(picture: np.ndarray, caption: str, family: Sequence[str] = ("DejaVu Sans",)) -> np.ndarray:
    """``picture`` with ``caption`` on a white band above it, in the first of ``family`` that is installed."""
    from matplotlib import font_manager
    from PIL import Image, ImageDraw, ImageFont

    size = max(14, picture.shape[1] // 28)
    path = font_manager.fontManager.findfont(font_manager.FontProperties(family=list(family)[-1]))
    font = ImageFont.truetype(path, size)
    band = size * 2
    canvas = Image.new("RGB", (picture.shape[1], picture.shape[0] + band), (255, 255, 255))
    canvas.paste(Image.fromarray(picture), (0, band))
    ImageDraw.Draw(canvas).text((size // 2, size // 2), caption, fill=(0, 0, 0), font=font)
    return np.asarray(canvas)
