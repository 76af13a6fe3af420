"""The ``export`` command: a checkpoint's model as ONNX or TorchScript, for deployment."""

from __future__ import annotations


def export(checkpoint: str, format: str = "onnx", output: str | None = None, opset: int = 17) -> None:  # noqa: A002
    """Export CHECKPOINT's model as ONNX or TorchScript with a dynamic batch size, checked against PyTorch.

    ONNX files carry the classes and the preprocessing in their metadata:
    `predict MODEL.onnx --backend=onnxruntime` predicts from them.
    """
    from ignite_fire.inference.export import export as write_export

    write_export(checkpoint, format=format, output=output, opset=opset)
