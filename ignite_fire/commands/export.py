"""The ``export`` command: a checkpoint's model as ONNX or TorchScript, for deployment."""

from __future__ import annotations


def export(  # noqa: A002
    checkpoint: str, format: str = "onnx", output: str | None = None, opset: int = 17, experiment: str | None = None
) -> None:
    """Export CHECKPOINT's model as ONNX or TorchScript with a dynamic batch size, checked against PyTorch.

    ONNX files carry the classes and the preprocessing in their metadata:
    `predict MODEL.onnx --backend=onnxruntime` predicts from them. --experiment=FILE: the run's experiment,
    when it defines its own build_model or build_transforms (nothing a checkpoint names is imported).
    """
    from ignite_fire.inference.export import export as write_export

    write_export(checkpoint, format=format, output=output, opset=opset, experiment=experiment)
