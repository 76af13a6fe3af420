"""Export a checkpoint's model for deployment: ONNX or TorchScript, with a dynamic batch size.

    python -m ignite_fire export runs/NAME --format=onnx          # runs/NAME/model.onnx
    python -m ignite_fire export runs/NAME --format=torchscript   # runs/NAME/model.torchscript.pt
    python -m ignite_fire predict runs/NAME/model.onnx --backend=onnxruntime --input=photos

The exported model maps a float32 batch ``input`` (N, C, H, W), normalised as in training, to
``logits`` (N, classes). What a user needs to feed it travels with the file: the class list and
the eval preprocessing (resize, centre crop, mean, std) are JSON strings in the ONNX model's
``metadata_props`` (TorchScript: the extra file ``ignite_fire.json``), so ``predict`` needs
nothing but the export. ONNX export and prediction need ``pip install -e .[onnx]``.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ignite_fire.errors import UserError
from ignite_fire.experiment import Experiment
from ignite_fire.files import atomic_path, check_outputs, output_folder
from ignite_fire.inference.onnx_model import OnnxModel
from ignite_fire.inference.predict import (
    Predictor,
    check_writable,
    find_checkpoint,
    load_predictor,
    named_experiment,
)

logger = logging.getLogger("ignite_fire")

FORMATS = ("onnx", "torchscript")
SUFFIXES = {"onnx": ".onnx", "torchscript": ".torchscript.pt"}
PASS_THROUGH = ("ToTensor", "PILToTensor", "ToImage", "ToDtype", "ConvertImageDtype")
TORCHSCRIPT_EXTRA = "ignite_fire.json"
# The opsets the TorchScript-based exporter (dynamo=False) writes: torch.onnx's own bounds, read where it keeps them.
MIN_OPSET = int(getattr(torch.onnx._constants, "ONNX_MIN_OPSET", 7))
MAX_OPSET = int(getattr(torch.onnx._constants, "ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET", 20))


def _size(size: Any) -> list[int]:
    return [int(s) for s in size] if isinstance(size, (list, tuple)) else [int(size)]


def describe_preprocessing(transform: Any) -> dict[str, Any]:
    """The eval transform as plain values: ``resize``, ``interpolation``, ``crop``, ``mean``, ``std``.

    Understands Resize, CenterCrop, ToTensor/ToImage/ToDtype and Normalize inside a Compose
    (the default eval transform); anything else cannot travel as metadata and is a UserError.
    """
    steps = getattr(transform, "transforms", [transform])
    described: dict[str, Any] = {"resize": None, "interpolation": "bilinear", "crop": None, "mean": None, "std": None}
    for step in steps:
        name = type(step).__name__
        if name == "Resize":
            described["resize"] = _size(step.size)
            described["interpolation"] = getattr(step.interpolation, "value", str(step.interpolation))
        elif name == "CenterCrop":
            described["crop"] = _size(step.size)
        elif name == "Normalize":
            described["mean"], described["std"] = [float(m) for m in step.mean], [float(s) for s in step.std]
        elif name not in PASS_THROUGH:
            raise UserError(
                f"the experiment's eval transform has a {name}, which cannot be written into the export's "
                "metadata: export understands Resize, CenterCrop, ToTensor and Normalize"
            )
    if described["crop"] is None or described["mean"] is None:
        raise UserError("the eval transform needs a CenterCrop and a Normalize to describe the export's input")
    return described


def export_metadata(predictor: Predictor) -> dict[str, str]:
    """String metadata for the export: the class list, the preprocessing and where it came from."""
    preprocessing = describe_preprocessing(predictor.transform)
    crop = preprocessing["crop"]
    values: dict[str, Any] = {
        "classes": predictor.classes,
        "image_size": crop[0] if len(set(crop)) == 1 else crop,
        **preprocessing,
        "draft_size": predictor.draft_size,
        "source": predictor.path.name,
    }
    return {key: json.dumps(value, ensure_ascii=False) for key, value in values.items()}


def default_output(checkpoint: Path, format: str) -> Path:
    """``RUN/model.onnx`` for a checkpoint in ``RUN/checkpoints/``, else beside the checkpoint."""
    if checkpoint.parent.name == "checkpoints":
        return checkpoint.parent.parent / f"model{SUFFIXES[format]}"
    return checkpoint.with_name(checkpoint.stem + SUFFIXES[format])


def _export_onnx(model: nn.Module, example: torch.Tensor, path: Path, metadata: dict[str, str], opset: int) -> None:
    try:
        import onnx
    except ImportError as error:
        raise UserError("ONNX export needs the onnx package: pip install onnx onnxruntime (or -e .[onnx])") from error
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript-based exporter's deprecation notice
        try:  # the exporter prints its whole IR graph on stdout when an operator fails: keep it off the terminal
            with contextlib.redirect_stdout(io.StringIO()):
                torch.onnx.export(
                    model,
                    (example,),
                    str(tmp),
                    dynamo=False,  # the torch.export-based exporter needs onnxscript; this one needs nothing more
                    input_names=["input"],
                    output_names=["logits"],
                    dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                    opset_version=opset,
                )
        except torch.onnx.errors.OnnxExporterError as error:  # an operator this opset lacks; its text holds the graph
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise UserError(
                f"the model cannot be exported at --opset={opset}: {first}; try a higher --opset (up to {MAX_OPSET})"
            ) from error
        proto = onnx.load(str(tmp))
        for key, value in metadata.items():
            proto.metadata_props.add(key=key, value=value)
        proto.producer_name = "ignite_fire"
        onnx.save(proto, str(tmp))


def _export_torchscript(model: nn.Module, example: torch.Tensor, path: Path, metadata: dict[str, str]) -> None:
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(model, example)
        torch.jit.save(traced, str(tmp), _extra_files={TORCHSCRIPT_EXTRA: json.dumps(metadata)})


def exported_probabilities(path: Path, images: torch.Tensor, format: str = "onnx") -> torch.Tensor:
    """Softmax probabilities of the exported model at ``path`` (ONNX through onnxruntime, or TorchScript)."""
    if format == "onnx":
        model: nn.Module = OnnxModel(path)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated since PyTorch 2.10
            model = torch.jit.load(str(path), map_location="cpu")
    with torch.no_grad():
        return torch.softmax(model(images).float(), dim=1)


def check_export_options(format: str, opset: Any) -> int:
    """The opset as an int; a one-line UserError for an unknown format or an opset torch.onnx cannot write."""
    if format not in FORMATS:
        raise UserError(f"--format={format!r} is not allowed: choose onnx or torchscript")
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise UserError(f"--opset={opset!r} is not supported: torch.onnx exports opsets {MIN_OPSET} to {MAX_OPSET}")
    return opset


def check_output_suffix(out: Path, format: str) -> None:
    """``--output`` ends as ``--format`` writes it (.onnx, .pt), so the file is read back with the right runtime."""
    wanted = ".onnx" if format == "onnx" else ".pt"
    if out.suffix != wanted:
        raise UserError(
            f"--output={out} does not end in {wanted}, the suffix of --format={format}: "
            f"name it {out.with_suffix(wanted).name}, or pass --format={'torchscript' if wanted == '.onnx' else 'onnx'}"
        )


def export(
    checkpoint: str,
    *,
    format: str = "onnx",
    output: str | None = None,
    opset: int = 17,
    experiment: str | Experiment | None = None,
) -> Path:
    """Export CHECKPOINT's model as ONNX or TorchScript (dynamic batch size), checked against PyTorch.

    ONNX files carry the classes and the preprocessing in their metadata:
    `predict MODEL.onnx --backend=onnxruntime` predicts from them.

    Args:
        checkpoint: a checkpoint file, or a run directory (its best checkpoint).
        format: "onnx" or "torchscript".
        output: the file to write (default: RUN/model.onnx or RUN/model.torchscript.pt).
        opset: the ONNX opset version.
        experiment: the experiment .py file whose own build_model/build_transforms rebuild the model.
    """
    opset = check_export_options(format, opset)
    path = find_checkpoint(checkpoint)
    out = Path(str(output)).expanduser() if output else default_output(path, format)
    check_output_suffix(out, format)
    check_outputs({"--output": out}, {"CHECKPOINT": path})
    check_writable(out)
    predictor = load_predictor(path, torch.device("cpu"), named_experiment(experiment))
    model = predictor.model.float().eval().to(memory_format=torch.contiguous_format)
    metadata = export_metadata(predictor)
    crop = json.loads(metadata["crop"])
    height, width = (crop[0], crop[0]) if len(crop) == 1 else crop
    channels = len(json.loads(metadata["mean"]))
    generator = torch.Generator().manual_seed(0)
    example = torch.randn(2, channels, height, width, generator=generator)
    try:
        with output_folder(out.parent):  # a failed write leaves no empty folder
            if format == "onnx":
                _export_onnx(model, example, out, metadata, opset)
            else:
                _export_torchscript(model, example, out, metadata)
    except OSError as error:  # a read-only or vanished folder, found only when writing
        raise UserError(f"cannot write {out} ({error.strerror or error}): pass --output=PATH elsewhere") from error
    check = torch.randn(3, channels, height, width, generator=generator)  # another batch size than the example
    with torch.no_grad():
        expected = torch.softmax(model(check).float(), dim=1)
    difference = float((exported_probabilities(out, check, format) - expected).abs().max())
    logger.info(f"exported {path.name} to {out} ({format}, input (N, {channels}, {height}, {width}), dynamic N)")
    logger.info(f"checked on 3 random inputs: max |probability difference| to PyTorch {difference:.2e}")
    if difference > 1e-3:
        logger.warning(f"warning: the export differs from the PyTorch model by up to {difference:.2e}")
    return out
