"""A checkpoint is data: no command imports the code its config names, and no command writes over its inputs.

The checkpoints here are crafted as an adversary would: tensors and plain values only (so they pass
``torch.load(weights_only=True)``), with a config whose ``experiment`` names a ``.py`` file that writes
a marker when imported, by absolute path or as a ``helper.py`` shipped beside the checkpoint.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from PIL import Image

from ignite_fire.errors import UserError
from ignite_fire.models import build_model

CLASSES = ["cat", "dog", "owl"]
MODEL = {"model": "mobilenet_v3_small", "image_size": 32}  # a built-in model: rebuilt from the data alone


def payload(marker: Path) -> str:
    """An experiment file that leaves ``marker`` behind when anything imports it."""
    return f"from pathlib import Path\nPath({str(marker)!r}).write_text('imported')\nconfig = {{}}\n"


def craft(folder: Path, experiment: str, **config: object) -> Path:
    """A tensor-only checkpoint in ``folder`` whose config names ``experiment``; returns its path."""
    torch.manual_seed(0)
    model = build_model({**_defaults(), **MODEL, "pretrained": False}, len(CLASSES))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.pt"
    settings = {**MODEL, "experiment": experiment, **config}
    torch.save({"model": model.state_dict(), "classes": CLASSES, "config": settings}, path)
    return path


def _defaults() -> dict[str, object]:
    from ignite_fire.config import DEFAULTS

    return dict(DEFAULTS)


def images(folder: Path, count: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.new("RGB", (40, 40), (60 * i, 90, 200 - 50 * i)).save(folder / f"img{i}.png")
    return folder


def as_cv(checkpoint: Path, cv_dir: Path) -> Path:
    """A one-fold cv directory holding ``checkpoint`` as fold0's best (what pseudo-label reads)."""
    checkpoints = cv_dir / "fold0" / "checkpoints"
    checkpoints.mkdir(parents=True)
    os.replace(checkpoint, checkpoints / "best_checkpoint_1_val_score=0.5000.pt")
    (cv_dir / "cv.json").write_text(json.dumps({"folds": 1}))
    return checkpoints


def run_command(command: str, checkpoint: Path, photos: Path, out: Path, **options: object) -> None:
    """Run ``command`` (predict, export, explain, pseudo-label) on ``checkpoint`` as its library function."""
    if command == "predict":
        from ignite_fire.inference.predict import predict

        predict(str(checkpoint), input=str(photos), output=str(out / "s.txt"), num_workers=0, device="cpu", **options)
    elif command == "export":
        pytest.importorskip("onnx")
        pytest.importorskip("onnxruntime")
        from ignite_fire.inference.export import export

        export(str(checkpoint), output=str(out / "m.onnx"), **options)  # type: ignore[arg-type]
    elif command == "explain":
        pytest.importorskip("pytorch_grad_cam")
        from ignite_fire.inference.explain import explain

        explain(str(checkpoint), input=str(photos), output=str(out / "cam"), device="cpu", **options)  # type: ignore[arg-type]
    else:
        from ignite_fire.competition.pseudo_label import pseudo_label

        cv_dir = checkpoint.parents[2]
        pseudo_label(str(cv_dir), input=str(photos), output=str(out / "p.txt"), threshold=1e-6, device="cpu", **options)  # type: ignore[arg-type]


COMMANDS = ["predict", "export", "explain", "pseudo-label"]


@pytest.mark.parametrize("where", ["absolute", "beside"])
@pytest.mark.parametrize("command", COMMANDS)
def test_no_command_imports_the_experiment_a_checkpoint_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, where: str
) -> None:
    marker = tmp_path / "MARKER"
    ship = tmp_path / "ship"
    ship.mkdir()
    helper = ship / "helper.py"
    helper.write_text(payload(marker))
    checkpoint = craft(ship, str(helper) if where == "absolute" else "helper.py")
    if command == "pseudo-label":
        checkpoints = as_cv(checkpoint, tmp_path / "cv")
        (checkpoints / "helper.py").write_text(payload(marker))  # beside the fold's checkpoint too
        checkpoint = next(checkpoints.glob("best_*.pt"))
        monkeypatch.chdir(checkpoints)
    else:
        monkeypatch.chdir(ship)  # "helper.py" resolves beside the checkpoint
    out = tmp_path / "out"
    run_command(command, checkpoint, images(tmp_path / "photos"), out)
    assert not marker.exists(), f"{command} imported the experiment file its checkpoint names"
    assert any(out.rglob("*")), f"{command} wrote nothing: the model was not rebuilt from the checkpoint's data"


def test_the_marker_does_appear_when_the_user_names_the_file(tmp_path: Path) -> None:
    """The control: the same payload runs when a user passes it as --experiment (so the test above can fail)."""
    marker = tmp_path / "MARKER"
    helper = tmp_path / "helper.py"
    helper.write_text(payload(marker))
    checkpoint = craft(tmp_path / "ship", str(helper))
    run_command("predict", checkpoint, images(tmp_path / "photos"), tmp_path / "out", experiment=str(helper))
    assert marker.read_text() == "imported" and (tmp_path / "out" / "s.txt").is_file()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_checkpoint_that_needs_its_experiment_says_so_in_one_line(tmp_path: Path, command: str) -> None:
    marker = tmp_path / "MARKER"
    helper = tmp_path / "experiments" / "foo.py"
    helper.parent.mkdir()
    helper.write_text(payload(marker))
    checkpoint = craft(tmp_path / "ship", str(helper), experiment_factories=["build_model", "build_datasets"])
    if command == "pseudo-label":
        checkpoint = next(as_cv(checkpoint, tmp_path / "cv").glob("best_*.pt"))
    with pytest.raises(UserError) as caught:
        run_command(command, checkpoint, images(tmp_path / "photos"), tmp_path / "out")
    assert str(caught.value) == (
        f"{checkpoint} was trained with its experiment's own build_model ({helper}): "
        f"pass --experiment={helper} to rebuild it"
    )
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_an_older_checkpoint_of_a_custom_model_says_which_file_to_name(tmp_path: Path) -> None:
    """No experiment_factories (written before it was recorded), and a model the defaults cannot build."""
    marker = tmp_path / "MARKER"
    helper = tmp_path / "foo.py"
    helper.write_text(payload(marker))
    checkpoint = craft(tmp_path / "ship", str(helper), model="my_own_net")
    with pytest.raises(UserError) as caught:
        run_command("predict", checkpoint, images(tmp_path / "photos"), tmp_path / "out")
    message = str(caught.value)
    assert message.startswith(f"{checkpoint} was trained with its experiment's own build_model ({helper}): ")
    assert f"pass --experiment={helper} to rebuild it (unknown model 'my_own_net'" in message
    assert "\n" not in message and not marker.exists()


# -- no command writes over its inputs --------------------------------------------------------------


def test_predict_onto_its_checkpoint_is_refused_and_leaves_it_whole(tmp_path: Path) -> None:
    from ignite_fire.inference.predict import predict

    checkpoint = craft(tmp_path / "ship", "helper.py")
    before = checkpoint.read_bytes()
    with pytest.raises(UserError) as caught:
        predict(str(checkpoint), input=str(images(tmp_path / "photos")), output=str(checkpoint), num_workers=0)
    assert str(caught.value) == (
        f"--output={checkpoint} is the input given as CHECKPOINT={checkpoint}: choose another --output"
    )
    assert checkpoint.read_bytes() == before


def test_predict_output_and_probabilities_on_one_path_is_refused(tmp_path: Path) -> None:
    from ignite_fire.inference.predict import predict

    checkpoint = craft(tmp_path / "ship", "helper.py")
    same = tmp_path / "out" / "x.txt"
    with pytest.raises(UserError) as caught:
        predict(str(checkpoint), input=str(images(tmp_path / "photos")), output=str(same), probabilities=str(same))
    assert str(caught.value) == (
        f"--output and --probabilities are both {same}: one would overwrite the other, give them different paths"
    )
    assert not (tmp_path / "out").exists()


def test_predict_into_the_image_folder_is_refused(tmp_path: Path) -> None:
    from ignite_fire.inference.predict import predict

    checkpoint = craft(tmp_path / "ship", "helper.py")
    photos = images(tmp_path / "photos")
    with pytest.raises(UserError, match=r"^--output=.*s\.txt is inside the input --input="):
        predict(str(checkpoint), input=str(photos), output=str(photos / "s.txt"), num_workers=0)
    assert sorted(p.name for p in photos.iterdir()) == ["img0.png", "img1.png", "img2.png"]


def test_a_predict_tta_scale_out_of_range_is_one_line(tmp_path: Path) -> None:
    from ignite_fire.inference.predict import predict

    checkpoint = craft(tmp_path / "ship", "helper.py")
    with pytest.raises(UserError, match=r"^--tta_scales must be numbers from 0\.25 to 4\.0"):
        predict(
            str(checkpoint),
            input=str(images(tmp_path / "photos")),
            output=str(tmp_path / "s.txt"),
            tta="scales",
            tta_scales=[0.01],
        )
    assert not (tmp_path / "s.txt").exists()


def test_a_read_only_filesystem_is_named_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No read-only mount is at hand (and root writes anywhere), so statvfs reports the flag a ro mount sets."""
    from ignite_fire.inference import predict as module

    real = os.statvfs

    class ReadOnly:
        def __init__(self, path: object) -> None:
            self.f_flag = real(path).f_flag | os.ST_RDONLY  # type: ignore[arg-type]

    monkeypatch.setattr(module.os, "statvfs", ReadOnly)
    target = tmp_path / "cam"
    with pytest.raises(UserError) as caught:
        module.check_writable(target, folder=True)
    assert str(caught.value) == (
        f"cannot write {target}: {tmp_path} is on a read-only filesystem; pass --output=PATH elsewhere"
    )


# -- the quickstart's digits only go into a folder of their own -------------------------------------


def test_the_digits_refuse_a_folder_that_holds_other_files(tmp_path: Path) -> None:
    from ignite_fire.data.digits import write_digits

    photos = tmp_path / "my_photos"
    photos.mkdir()
    (photos / "holiday.jpg").write_bytes(b"not ours")
    with pytest.raises(UserError) as caught:
        write_digits(photos, size=8, per_class=2)
    assert str(caught.value) == (
        f"--data_dir={photos} already holds other files (not a digits copy, which has a .complete marker): "
        "the digits are written only into a new or empty folder; pass another --data_dir"
    )
    assert [p.name for p in photos.iterdir()] == ["holiday.jpg"]


def test_the_digits_go_into_a_new_folder_and_are_reused_there(tmp_path: Path) -> None:
    from ignite_fire.data.digits import write_digits

    root = write_digits(tmp_path / "digits", size=8, per_class=2)
    assert (root / ".complete").is_file() and not (root / ".digits-writing").exists()
    assert len(list(root.rglob("*.png"))) == 20
    assert write_digits(root, size=8, per_class=2) == root  # a complete copy is reused, not refused
    half = tmp_path / "half"  # what a killed write leaves: its own marker, some images, no .complete
    (half / "train" / "0").mkdir(parents=True)
    (half / ".digits-writing").write_text("ignite_fire.data.digits\n")
    assert len(list(write_digits(half, size=8, per_class=2).rglob("*.png"))) == 20


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("classes", ["cat", "dog"], "it names 2 classes, the model has 3 outputs"),
        ("classes", ["cat", "cat", "owl"], "classes must be a list of distinct names"),
        ("crop", [48, 48], "it describes inputs of (N, 3, 48, 48), the model takes ['N', 3, 32, 32]"),
        ("crop", [0], "crop and resize must be one or two positive integers"),
        ("image_size", 64, "image_size 64 is not the crop [32, 32]"),
        ("std", [0.2, 0.0, 0.2], "no zero std"),
    ],
)
def test_onnx_metadata_that_lies_is_one_line(tmp_path: Path, key: str, value: object, fragment: str) -> None:
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from ignite_fire.inference.export import export
    from ignite_fire.inference.predict import predict

    exported = export(str(craft(tmp_path / "ship", "helper.py")), output=str(tmp_path / "m.onnx"))
    proto = onnx.load(str(exported))
    for prop in proto.metadata_props:
        if prop.key == key:
            prop.value = json.dumps(value)
    lying = tmp_path / "lying.onnx"
    onnx.save(proto, str(lying))
    with pytest.raises(UserError) as caught:
        predict(
            str(lying), input=str(images(tmp_path / "photos")), output=str(tmp_path / "s.txt"), backend="onnxruntime"
        )
    message = str(caught.value)
    assert message.startswith(f"{lying}'s ignite_fire metadata is wrong: ") and fragment in message
    assert message.endswith("; export it again with ignite_fire export") and "\n" not in message
    assert not (tmp_path / "s.txt").exists()


def test_graph_refuses_to_write_into_the_data_folder(tmp_path: Path, digits_dir: Path) -> None:
    from ignite_fire.commands.graph import graph
    from tests.helpers import TINY_EXPERIMENT

    stem = digits_dir / "train" / "model_graph"
    with pytest.raises(UserError) as caught:
        graph(str(TINY_EXPERIMENT), output=str(stem), num_classes=3, data_dir=str(digits_dir))
    assert str(caught.value) == (
        f"--output={stem}.dot is inside the input --data_dir={digits_dir}: choose another --output"
    )
    assert not list(digits_dir.rglob("model_graph*"))


BICUBIC_NET = """
from torch import nn

config = {}


class Net(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.conv, self.head = nn.Conv2d(3, 4, 3), nn.Linear(4, num_classes)

    def forward(self, x):
        return self.head(nn.functional.interpolate(self.conv(x), scale_factor=2, mode="bicubic").mean((2, 3)))


def build_model(config, num_classes):
    return Net(num_classes)
"""


def test_an_operator_the_opset_lacks_is_one_line_without_the_ir_graph(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    pytest.importorskip("onnx")
    from ignite_fire.experiment import load_experiment
    from ignite_fire.inference.export import MAX_OPSET, export

    experiment = tmp_path / "bicubic.py"
    experiment.write_text(BICUBIC_NET)
    model = load_experiment(experiment).factories["build_model"]({}, len(CLASSES))
    checkpoint = tmp_path / "model.pt"
    config = {
        "model": "bicubic",
        "image_size": 16,
        "experiment": str(experiment),
        "experiment_factories": ["build_model"],
    }
    torch.save({"model": model.state_dict(), "classes": CLASSES, "config": config}, checkpoint)
    capsys.readouterr()
    with pytest.raises(UserError) as caught:
        export(str(checkpoint), output=str(tmp_path / "m.onnx"), opset=7, experiment=str(experiment))
    assert str(caught.value).startswith("the model cannot be exported at --opset=7: Exporting the operator ")
    assert str(caught.value).endswith(f"try a higher --opset (up to {MAX_OPSET})") and "\n" not in str(caught.value)
    assert "graph" not in capsys.readouterr().out and not (tmp_path / "m.onnx").exists()
    assert export(str(checkpoint), output=str(tmp_path / "m.onnx"), opset=17, experiment=str(experiment)).is_file()


def test_train_from_a_config_json_says_which_experiment_file_it_runs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from ignite_fire.experiment import load_experiment

    marker = tmp_path / "MARKER"
    experiment = tmp_path / "experiments" / "foo.py"
    experiment.parent.mkdir()
    experiment.write_text(payload(marker))
    recorded = tmp_path / "runs" / "x" / "config.json"
    recorded.parent.mkdir(parents=True)
    recorded.write_text(json.dumps({"experiment": str(experiment), "overrides": {"epochs": 2}}))
    with caplog.at_level("INFO", logger="ignite_fire"):
        loaded = load_experiment(recorded)  # the user named this config.json: its experiment is run, and named
    assert f"{recorded} records the experiment {experiment}: running that file" in caplog.text
    assert marker.exists() and loaded.path == experiment.resolve() and loaded.config["epochs"] == 2


def test_lr_find_keeps_its_picture_inside_output_dir_and_out_of_the_data(tmp_path: Path, digits_dir: Path) -> None:
    from ignite_fire.lr_find import run_lr_find
    from tests.helpers import TINY_EXPERIMENT

    options = {"data_dir": str(digits_dir), "wandb_mode": "disabled"}
    with pytest.raises(UserError, match=r"^--name='\.\./x' is not one folder name"):
        run_lr_find(str(TINY_EXPERIMENT), output_dir=str(tmp_path / "runs"), name="../x", **options)
    with pytest.raises(UserError, match=rf"^--output_dir={digits_dir / 'x' / 'lr_find.png'} is inside the input"):
        run_lr_find(str(TINY_EXPERIMENT), output_dir=str(digits_dir), name="x", **options)
    assert not (tmp_path / "x").exists() and not (digits_dir / "x").exists()


@pytest.mark.parametrize("target", ["cv.json", "fold0/checkpoints/best_checkpoint_1_val_score=0.5000.pt"])
def test_pseudo_label_refuses_to_write_over_the_cv_it_reads(tmp_path: Path, target: str) -> None:
    from ignite_fire.competition.pseudo_label import pseudo_label

    cv_dir = tmp_path / "cv"
    as_cv(craft(tmp_path / "ship", "helper.py"), cv_dir)
    output = cv_dir / target
    before = output.read_bytes()
    with pytest.raises(UserError) as caught:
        pseudo_label(str(cv_dir), input=str(images(tmp_path / "photos")), output=str(output), device="cpu")
    flag = "CV_DIR" if target == "cv.json" else "CHECKPOINT"
    assert str(caught.value) == f"--output={output} is the input given as {flag}={output}: choose another --output"
    assert output.read_bytes() == before


def test_the_quickstart_refuses_a_data_dir_of_someone_elses_photos(tmp_path: Path) -> None:
    from ignite_fire.experiment import load_experiment
    from ignite_fire.training import train
    from tests.helpers import REPO

    photos = images(tmp_path / "my_photos")
    overrides = {"data_dir": str(photos), "output_dir": str(tmp_path / "runs"), "wandb_mode": "disabled"}
    with pytest.raises(UserError, match=rf"^--data_dir={photos} already holds other files"):
        train(load_experiment(REPO / "experiments" / "quickstart.py", overrides))
    assert sorted(p.name for p in photos.iterdir()) == ["img0.png", "img1.png", "img2.png"]
    assert not (tmp_path / "runs").exists()  # the refused run left no run folder
