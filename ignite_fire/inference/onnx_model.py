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


def read_export(path: Path) -> tuple[OnnxModel, list[str], T.Compose, int | None]:
    """An ONNX export's model (onnxruntime), class list, eval transform and JPEG draft size, from its metadata."""
    if path.suffix != ".onnx":
        raise UserError(f"--backend=onnxruntime predicts from an .onnx export, not {path.name}: run export first")
    model = OnnxModel(path)
    try:
        values = {key: json.loads(model.metadata[key]) for key in ("classes", "crop", "mean", "std")}
        values["resize"] = json.loads(model.metadata.get("resize", "null"))
        values["interpolation"] = json.loads(model.metadata.get("interpolation", '"bilinear"'))
        draft = json.loads(model.metadata.get("draft_size", "null"))
    except (KeyError, ValueError) as error:
        raise UserError(f"{path} has no ignite_fire metadata ({error}): export it with ignite_fire export") from error
    return model, [str(c) for c in values["classes"]], preprocessing_transform(values), draft
