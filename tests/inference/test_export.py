"""export: ONNX and TorchScript with a dynamic batch; predict --backend=onnxruntime from the ONNX file alone."""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import pytest
import torch

from ignite_fire.errors import UserError
from ignite_fire.experiment import load_experiment
from ignite_fire.inference.export import TORCHSCRIPT_EXTRA, export
from ignite_fire.inference.predict import find_checkpoint, load_predictor, predict
from ignite_fire.training import train
from tests.helpers import TINY_EXPERIMENT, run_cli

onnx = pytest.importorskip("onnx", reason="ONNX export needs the onnx extra (pip install -e .[onnx])")
onnxruntime = pytest.importorskip("onnxruntime", reason="predict --backend=onnxruntime needs onnxruntime")


@pytest.fixture(scope="module")
def tiny_run(digits_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny CNN trained for one epoch on the digits (16 px, 10 classes)."""
    out = tmp_path_factory.mktemp("export-runs")
    overrides = {"data_dir": str(digits_dir), "output_dir": str(out), "name": "tiny", "epochs": 1}
    overrides |= {"wandb_mode": "disabled", "plots": False}
    return Path(train(load_experiment(TINY_EXPERIMENT, overrides))["run_dir"])


def read_probabilities(path: Path) -> dict[str, list[float]]:
    with open(path, encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return {row[0]: [float(p) for p in row[1:]] for row in rows[1:]}


@pytest.mark.slow
def test_onnx_export_predicts_like_the_pytorch_model(tiny_run: Path, digits_dir: Path, tmp_path: Path) -> None:
    model_path = export(str(tiny_run), format="onnx")

    assert model_path == tiny_run / "model.onnx"
    metadata = {p.key: json.loads(p.value) for p in onnx.load(str(model_path)).metadata_props}
    assert metadata["classes"] == [str(d) for d in range(10)]
    assert metadata["image_size"] == 16 and metadata["crop"] == [16, 16] and metadata["resize"] == [18]
    assert metadata["mean"] == pytest.approx([0.485, 0.456, 0.406]) and metadata["std"][0] == pytest.approx(0.229)
    session = onnxruntime.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    for batch in (1, 5):  # a dynamic batch size
        assert session.run(None, {"input": torch.randn(batch, 3, 16, 16).numpy()})[0].shape == (batch, 10)

    results = {}
    for backend, model in (("torch", tiny_run), ("onnxruntime", model_path)):
        output = tmp_path / backend / "submission.txt"
        predict(str(model), input=str(digits_dir / "val"), output=str(output), backend=backend, num_workers=0)
        results[backend] = (output.read_text(encoding="utf-8"), read_probabilities(output.parent / "probabilities.csv"))
    assert results["onnxruntime"][0] == results["torch"][0]  # the same label for every image
    torch_probabilities, onnx_probabilities = results["torch"][1], results["onnxruntime"][1]
    images = len(list((digits_dir / "val").rglob("*.png")))
    assert len(onnx_probabilities) == images and onnx_probabilities.keys() == torch_probabilities.keys()
    difference = max(
        abs(a - b)
        for name, row in torch_probabilities.items()
        for a, b in zip(row, onnx_probabilities[name], strict=True)
    )
    assert difference <= 1e-4


@pytest.mark.slow
def test_torchscript_export_carries_its_metadata(tiny_run: Path, tmp_path: Path) -> None:
    out = export(str(tiny_run), format="torchscript", output=str(tmp_path / "m.pt"))

    extra = {TORCHSCRIPT_EXTRA: ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated, still the TorchScript loader
        scripted = torch.jit.load(str(out), _extra_files=extra)
    metadata = {key: json.loads(value) for key, value in json.loads(extra[TORCHSCRIPT_EXTRA]).items()}
    assert metadata["classes"] == [str(d) for d in range(10)] and metadata["image_size"] == 16
    model = load_predictor(find_checkpoint(tiny_run), torch.device("cpu")).model
    images = torch.randn(7, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(scripted(images), model(images), atol=1e-5)


@pytest.mark.slow
def test_export_mistakes_are_one_line_errors(tiny_run: Path, digits_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="--format='tflite' is not allowed: choose onnx or torchscript"):
        export(str(tiny_run), format="tflite")
    checkpoint, output = str(find_checkpoint(tiny_run)), str(tmp_path / "submission.txt")
    with pytest.raises(UserError, match=r"--backend=onnxruntime predicts from an \.onnx export, not best"):
        predict(checkpoint, input=str(digits_dir / "val"), output=output, backend="onnxruntime")
    with pytest.raises(UserError, match="--backend='tf' is not allowed"):
        predict(checkpoint, input=str(digits_dir / "val"), output=output, backend="tf")


@pytest.mark.slow
def test_export_command(tiny_run: Path, tmp_path: Path) -> None:
    result = run_cli("export", str(tiny_run), "--format=onnx", f"--output={tmp_path / 'tiny.onnx'}")

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "tiny.onnx").is_file()
    assert "max |probability difference| to PyTorch" in result.stdout


def test_an_unknown_format_is_refused_before_the_checkpoint_is_read(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"^--format='tflite' is not allowed: choose onnx or torchscript$"):
        export(str(tmp_path / "no-such-run"), format="tflite")
