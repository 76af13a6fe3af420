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
from tests.error_checks import assert_one_line_error
from tests.helpers import TINY_EXPERIMENT, run_cli, train_tiny_run

EXPERIMENT = str(TINY_EXPERIMENT)  # defines its own build_model: imported only when named
onnx = pytest.importorskip("onnx", reason="ONNX export needs the onnx extra (pip install -e .[onnx])")
onnxruntime = pytest.importorskip("onnxruntime", reason="predict --backend=onnxruntime needs onnxruntime")


@pytest.fixture(scope="module")
def tiny_run(digits_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny CNN trained for one epoch on the digits (16 px, 10 classes)."""
    return train_tiny_run(digits_dir, tmp_path_factory.mktemp("export-runs"))


def read_probabilities(path: Path) -> dict[str, list[float]]:
    with open(path, encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return {row[0]: [float(p) for p in row[1:]] for row in rows[1:]}


@pytest.mark.slow
def test_onnx_export_predicts_like_the_pytorch_model(tiny_run: Path, digits_dir: Path, tmp_path: Path) -> None:
    model_path = export(str(tiny_run), format="onnx", experiment=EXPERIMENT)

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
        rebuild = EXPERIMENT if backend == "torch" else None  # an ONNX file needs nothing but itself
        predict(
            str(model),
            input=str(digits_dir / "val"),
            output=str(output),
            backend=backend,
            num_workers=0,
            experiment=rebuild,
        )
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
    out = export(str(tiny_run), format="torchscript", output=str(tmp_path / "m.pt"), experiment=EXPERIMENT)

    extra = {TORCHSCRIPT_EXTRA: ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated, still the TorchScript loader
        scripted = torch.jit.load(str(out), _extra_files=extra)
    metadata = {key: json.loads(value) for key, value in json.loads(extra[TORCHSCRIPT_EXTRA]).items()}
    assert metadata["classes"] == [str(d) for d in range(10)] and metadata["image_size"] == 16
    model = load_predictor(find_checkpoint(tiny_run), torch.device("cpu"), load_experiment(TINY_EXPERIMENT)).model
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
    output = f"--output={tmp_path / 'tiny.onnx'}"
    result = run_cli("export", str(tiny_run), "--format=onnx", output, f"--experiment={EXPERIMENT}")

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "tiny.onnx").is_file()
    assert "max |probability difference| to PyTorch" in result.stdout


@pytest.mark.parametrize("opset", [3, 999, "x"])
def test_an_opset_torch_onnx_cannot_write_is_one_line(tiny_run: Path, tmp_path: Path, opset: object) -> None:
    from ignite_fire.inference.export import MAX_OPSET, MIN_OPSET

    out = tmp_path / "m.onnx"
    with pytest.raises(UserError) as caught:
        export(str(tiny_run), output=str(out), opset=opset, experiment=EXPERIMENT)  # type: ignore[arg-type]
    expected = f"--opset={opset!r} is not supported: torch.onnx exports opsets {MIN_OPSET} to {MAX_OPSET}"
    assert str(caught.value) == expected
    assert not out.exists()


@pytest.mark.slow  # spawns the CLI
def test_an_opset_out_of_range_prints_no_graph_on_the_command_line(tiny_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.onnx"
    result = run_cli("export", str(tiny_run), f"--output={out}", "--opset=999", f"--experiment={EXPERIMENT}")
    assert_one_line_error(result, "--opset=999 is not supported: torch.onnx exports opsets")
    assert "graph(" not in result.stdout and not out.exists()


@pytest.mark.parametrize(("format", "name", "wanted"), [("onnx", "m.pt", ".onnx"), ("torchscript", "m.onnx", ".pt")])
def test_an_output_suffix_that_disagrees_with_the_format_is_refused_before_writing(
    tiny_run: Path, tmp_path: Path, format: str, name: str, wanted: str
) -> None:
    expected = rf"^--output=.*{name} does not end in {wanted}, the suffix of --format={format}"
    with pytest.raises(UserError, match=expected):
        export(str(tiny_run), format=format, output=str(tmp_path / name), experiment=EXPERIMENT)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("format", ["onnx", "torchscript"])
def test_export_onto_its_checkpoint_is_refused_and_leaves_it_whole(tiny_run: Path, tmp_path: Path, format: str) -> None:
    copy = tmp_path / "best.pt"
    copy.write_bytes(find_checkpoint(tiny_run).read_bytes())
    before = copy.read_bytes()
    with pytest.raises(UserError) as caught:
        export(str(copy), format=format, output=str(copy), experiment=EXPERIMENT)
    if format == "torchscript":  # a .pt output passes the suffix check: the input check refuses it
        assert str(caught.value) == f"--output={copy} is the input given as CHECKPOINT={copy}: choose another --output"
    else:
        assert "does not end in .onnx" in str(caught.value)
    assert copy.read_bytes() == before and list(tmp_path.iterdir()) == [copy]


def test_export_to_a_read_only_folder_is_one_line(tiny_run: Path, tmp_path: Path) -> None:
    import os

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: a read-only folder is still writable")
        with pytest.raises(UserError, match=rf"^cannot write {locked / 'm.onnx'} \(Permission denied in {locked}\)"):
            export(str(tiny_run), output=str(locked / "m.onnx"), experiment=EXPERIMENT)
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


def test_an_unknown_format_is_refused_before_the_checkpoint_is_read(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"^--format='tflite' is not allowed: choose onnx or torchscript$"):
        export(str(tmp_path / "no-such-run"), format="tflite")
