"""Run an ONNX export (``ignite_fire export``) with onnxruntime, called like the PyTorch model.

The export's ``metadata_props`` hold JSON strings: ``classes``, ``resize``, ``interpolation``,
``crop``, ``mean``, ``std`` and ``draft_size``; :func:`read_export` turns them back into the eval
transform, so ``predict --backend=onnxruntime`` needs nothing but the ``.onnx`` file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchvision import transforms as T

from ignite_fire.errors import UserError


def preprocessing_transform(preprocessing: dict[str, Any]) -> T.Compose:
    """The eval transform that ``ignite_fire.inference.export.describe_preprocessing`` described."""
    steps: list[Any] = []
    if preprocessing.get("resize"):
        resize = preprocessing["resize"]
        mode = T.InterpolationMode(preprocessing.get("interpolation", "bilinear"))
        steps.append(T.Resize(resize[0] if len(resize) == 1 else resize, interpolation=mode, antialias=True))
    crop = preprocessing["crop"]
    steps += [T.CenterCrop(crop[0] if len(crop) == 1 else crop), T.ToTensor()]
    steps.append(T.Normalize(preprocessing["mean"], preprocessing["std"]))
    return T.Compose(steps)

class OnnxModel(nn.Module):
    """An ONNX export run by onnxruntime, called like the PyTorch model: images (N, C, H, W) -> logits."""

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        try:
            import onnxruntime
        except ImportError as error:
            raise UserError("--backend=onnxruntime needs onnxruntime: pip install -e .[onnx]") from error
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own types for unreadable files
            raise UserError(f"onnxruntime cannot load {path}: {str(error).splitlines()[0]}") from error
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        self.input_name = self.session.get_inputs()[0].name

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        array = images.detach().to("cpu", torch.float32).contiguous().numpy()
        return torch.from_numpy(self.session.run(None, {self.input_name: array})[0]).to(images.device)


def _sizes(value: Any) -> bool:
    """A size as export writes it: a list of one or two positive ints."""
    return isinstance(value, list) and len(value) in (1, 2) and all(type(v) is int and v > 0 for v in value)


def check_metadata(path: Path, model: OnnxModel, values: dict[str, Any]) -> None:
    """The metadata agrees with itself and with the model's own input and output shapes; one line if it lies."""
    classes, crop, mean, std = values["classes"], values["crop"], values["mean"], values["std"]

    def lie(what: str) -> UserError:
        return UserError(f"{path}'s ignite_fire metadata is wrong: {what}; export it again with ignite_fire export")

    if not isinstance(classes, list) or not classes or len({str(c) for c in classes}) != len(classes):
        raise lie(f"classes must be a list of distinct names, got {classes!r}")
    if not _sizes(crop) or (values["resize"] is not None and not _sizes(values["resize"])):
        raise lie(f"crop and resize must be one or two positive integers, got {crop!r} and {values['resize']!r}")
    numbers = (mean, std)
    if not all(isinstance(v, list) and v and all(isinstance(x, (int, float)) for x in v) for v in numbers):
        raise lie(f"mean and std must be lists of numbers, got {mean!r} and {std!r}")
    if len(mean) != len(std) or any(x == 0 for x in std):
        raise lie(f"mean and std must have one value per channel and no zero std, got {mean!r} and {std!r}")
    try:
        T.InterpolationMode(values["interpolation"])
    except ValueError:
        raise lie(f"interpolation {values['interpolation']!r} is not a torchvision interpolation mode") from None
    height, width = (crop[0], crop[0]) if len(crop) == 1 else crop
    expected = [len(mean), height, width]
    shape = list(model.session.get_inputs()[0].shape)[1:]  # (batch, C, H, W): the batch is dynamic
    fixed = [(e, s) for e, s in zip(expected, shape, strict=False) if isinstance(s, int)]
    if any(e != s for e, s in fixed):
        raise lie(f"it describes inputs of (N, {len(mean)}, {height}, {width}), the model takes {['N', *shape]}")
    outputs = list(model.session.get_outputs()[0].shape)
    if len(outputs) == 2 and isinstance(outputs[1], int) and outputs[1] != len(classes):
        raise lie(f"it names {len(classes)} classes, the model has {outputs[1]} outputs")
    size = values.get("image_size")
    if size is not None and size != (crop[0] if len(crop) == 1 or crop[0] == crop[1] else crop):
        raise lie(f"image_size {size!r} is not the crop {crop!r}")


def read_export(path: Path) -> tuple[OnnxModel, list[str], T.Compose, int | None]:
    """An ONNX export's model (onnxruntime), class list, eval transform and JPEG draft size, from its metadata."""
    if path.suffix != ".onnx":
        raise UserError(f"--backend=onnxruntime predicts from an .onnx export, not {path.name}: run export first")
    model = OnnxModel(path)
    try:
        values = {key: json.loads(model.metadata[key]) for key in ("classes", "crop", "mean", "std")}
        values["resize"] = json.loads(model.metadata.get("resize", "null"))
        values["interpolation"] = json.loads(model.metadata.get("interpolation", '"bilinear"'))
        values["image_size"] = json.loads(model.metadata.get("image_size", "null"))
        draft = json.loads(model.metadata.get("draft_size", "null"))
    except (KeyError, ValueError) as error:
        raise UserError(f"{path} has no ignite_fire metadata ({error}): export it with ignite_fire export") from error
    check_metadata(path, model, values)
    if draft is not None and (type(draft) is not int or draft < 1):
        raise UserError(f"{path}'s ignite_fire metadata is wrong: draft_size {draft!r} is not a positive integer")
    return model, [str(c) for c in values["classes"]], preprocessing_transform(values), draft
