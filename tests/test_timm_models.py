"""timm backbones end to end on the CPU: training with layer decay and EMA, graph, checkpoints, W&B, predict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from ignite_fire.config import DEFAULTS
from ignite_fire.errors import UserError
from ignite_fire.experiment import experiment_from_config
from ignite_fire.inference.predict import predict
from ignite_fire.models import build_model
from ignite_fire.timm_models import build_timm_model
from ignite_fire.training import train
from tests.helpers import run_cli, wandb_summary


def timm_config(digits_dir: Path, output_dir: Path, **extra: Any) -> dict[str, Any]:
    config = {
        "model": "timm/resnet10t",
        "pretrained": False,
        "data_dir": str(digits_dir),
        "output_dir": str(output_dir),
        "image_size": 32,
        "epochs": 1,
        "batch_size": 32,
        "optimizer": "AdamW",
        "learning_rate": 0.002,
        "device": "cpu",
        "amp": False,
        "num_workers": 0,
        "seed": 0,
        "plots": False,
        "watch": None,
        "wandb_mode": "disabled",
    }
    return {**config, **extra}


@pytest.fixture(scope="module")
def timm_run(digits_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("timm")
    config = timm_config(
        digits_dir,
        out,
        name="resnet10t",
        layer_decay=0.75,
        head_lr_scale=2.0,
        ema_decay=0.9,
        channels_last=True,
        drop_path_rate=0.05,
        wandb_mode="offline",
        plots=True,
        gallery_every=0,
        scheduler=None,  # the learning rates stay where layer decay puts them
        log_every=5,
    )
    return train(experiment_from_config("timm_tiny", config))


@pytest.mark.slow
def test_a_timm_model_trains_with_layer_decay_and_ema(timm_run: dict[str, Any]) -> None:
    assert timm_run["status"] == "finished" and timm_run["epochs_completed"] == 1
    run_dir = Path(timm_run["run_dir"])
    history = json.loads((run_dir / "history.json").read_text())
    rates = {k: v for k, v in history[-1].items() if k.startswith("lr/")}
    layers = sorted(k for k in rates if k.startswith("lr/layer_"))
    assert len(layers) >= 4 and "lr/head" in rates
    # Each layer 0.75 x the next; the head at learning_rate x head_lr_scale.
    assert all(rates[a] == pytest.approx(0.75 * rates[b]) for a, b in zip(layers, layers[1:], strict=False))
    assert rates["lr/head"] == pytest.approx(2.0 * 0.002) and rates[layers[-1]] <= 0.002
    assert (run_dir / "model_graph.dot").stat().st_size > 1000  # torchviz drew the timm model
    assert (run_dir / "train_batch.png").is_file()


@pytest.mark.slow
def test_the_learning_rate_of_each_group_is_in_the_offline_wandb_run(timm_run: dict[str, Any]) -> None:
    values = wandb_summary(Path(timm_run["run_dir"]))["summary"]
    assert "lr/head" in values and "lr/layer_00" in values
    assert values["train_batch"]["_type"] == "image-file"  # train_batch.png is in W&B too
    assert values["lr/head"] == pytest.approx(2 * 0.002) and 0 < values["lr/layer_00"] < 0.002 * 0.75**3


@pytest.mark.slow
def test_predict_rebuilds_the_timm_model_from_its_checkpoint(
    timm_run: dict[str, Any], digits_dir: Path, tmp_path: Path
) -> None:
    output = tmp_path / "submission.txt"
    result = predict(
        timm_run["best_checkpoint"], input=str(digits_dir / "val"), output=str(output), tta="hflip,five_crop"
    )
    lines = output.read_text(encoding="utf-8").splitlines()
    assert result["images"] == len(lines) > 0 and all(line.split("\t")[1] in "0123456789" for line in lines)


def test_drop_rates_reach_the_timm_model() -> None:
    model = build_timm_model("timm/convnext_atto", 3, drop_rate=0.3, drop_path_rate=0.2)
    assert model.drop_rate == pytest.approx(0.3)
    assert model.stages[-1].blocks[-1].drop_path.drop_prob == pytest.approx(0.2)
    assert model(torch.zeros(1, 3, 32, 32)).shape == (1, 3)


def test_missing_pretrained_weights_say_what_to_fetch_and_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.delenv("IGNITE_FIRE_DOWNLOAD_WEIGHTS", raising=False)
    with pytest.raises(UserError) as error:
        build_model({**DEFAULTS, "model": "timm/convnext_atto.d2_in1k", "pretrained": True}, 5)
    message = str(error.value)
    assert "timm/convnext_atto.d2_in1k" in message and str(tmp_path / "hub") in message and "\n" not in message


def test_pretrained_weights_are_read_from_the_hugging_face_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache laid out as huggingface_hub lays it out is used without any download."""
    from safetensors.torch import save_file

    source = build_timm_model("timm/resnet10t", 1000)
    snapshot = tmp_path / "hub" / "models--timm--resnet10t.c3_in1k" / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(snapshot / "model.safetensors"))
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("0" * 40)
    monkeypatch.setattr(huggingface_hub_constants(), "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = build_model({**DEFAULTS, "model": "timm/resnet10t.c3_in1k", "pretrained": True}, 5)
    assert torch.equal(model.conv1[0].weight, source.conv1[0].weight)
    assert model.fc.out_features == 5


def huggingface_hub_constants() -> Any:
    import huggingface_hub

    return huggingface_hub.constants


def test_unknown_timm_names_suggest_close_ones() -> None:
    with pytest.raises(UserError, match="unknown timm model 'convnext_tinyy'.*timm/convnext_tiny"):
        build_model({**DEFAULTS, "model": "timm/convnext_tinyy", "pretrained": False}, 5)
    with pytest.raises(UserError, match="apply to timm models"):
        build_model({**DEFAULTS, "model": "resnet18", "pretrained": False, "drop_rate": 0.2}, 5)


@pytest.mark.slow
def test_the_recipe_without_cached_weights_is_one_line_on_the_command_line(digits_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "hub"
    options = (f"--data_dir={digits_dir}", "--classes=None", f"--output_dir={tmp_path}", "--image_size=16")
    result = run_cli("experiments/convnext_finetune.py", *options, env={"HF_HUB_CACHE": str(empty)})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "timm/convnext_tiny.fb_in22k" in lines[0] and str(empty) in lines[0]


@pytest.mark.slow
def test_a_timm_model_exports_to_onnx_and_predicts_alike(
    timm_run: dict[str, Any], digits_dir: Path, tmp_path: Path
) -> None:
    import onnxruntime

    from ignite_fire.inference.export import export

    run_dir = Path(timm_run["run_dir"])
    model_path = export(str(run_dir), format="onnx", output=str(tmp_path / "resnet10t.onnx"))
    session = onnxruntime.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    assert session.run(None, {"input": torch.randn(3, 3, 32, 32).numpy()})[0].shape == (3, 10)
    outputs = {}
    for backend, model in (("torch", run_dir), ("onnxruntime", model_path)):
        output = tmp_path / backend / "submission.txt"
        predict(str(model), input=str(digits_dir / "val"), output=str(output), backend=backend, num_workers=0)
        outputs[backend] = output.read_text(encoding="utf-8")
    assert outputs["onnxruntime"] == outputs["torch"]  # the same label for every image
