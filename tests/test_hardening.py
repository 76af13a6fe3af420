"""Issue 18's hardening cases: resume means the same run, signals, data checks, one-line faults."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import torch

from ignite_fire.errors import UserError
from ignite_fire.experiment import load_experiment
from ignite_fire.training import train
from tests.helpers import TINY_EXPERIMENT


def tiny_train(digits_dir: Path, out: Path, name: str, **overrides: Any) -> dict[str, Any]:
    """Train tests/tiny_experiment.py in this process (faster than the CLI)."""
    config = {"data_dir": str(digits_dir), "output_dir": str(out), "name": name, **overrides}
    return train(load_experiment(TINY_EXPERIMENT, config))


def last_checkpoint(run_dir: Path) -> dict[str, Any]:
    return torch.load(run_dir / "checkpoints" / "last.pt", weights_only=True)


# --- 3. resume means the same run ---


@pytest.fixture(scope="module")
def two_epochs(digits_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 2-epoch run (20 iterations an epoch: 320 digits, batch 16)."""
    out = tmp_path_factory.mktemp("resume")
    tiny_train(digits_dir, out, "done", epochs=2)
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"batch_size": 32}, "--batch_size=32 differs from the checkpoint's 16: resume with --batch_size=16, or start"),
        ({"accumulation_steps": 2}, "--accumulation_steps=2 differs from the checkpoint's 1: resume with"),
        ({"epochs": 1}, "--epochs=1 is below the 2 epochs the checkpoint has trained: resume with --epochs=2 or more"),
    ],
)
def test_a_resume_that_changes_the_schedule_is_refused(
    two_epochs: Path, digits_dir: Path, override: dict[str, Any], message: str
) -> None:
    before = last_checkpoint(two_epochs / "done")["trainer"]["iteration"]
    with pytest.raises(UserError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        tiny_train(digits_dir, two_epochs, "done", **{"resume": "auto", "epochs": 2, **override})
    after = json.loads((two_epochs / "done" / "history.json").read_text())
    assert [r["epoch"] for r in after] == [1, 2]  # nothing trained, no second "epoch 1" row
    assert last_checkpoint(two_epochs / "done")["trainer"]["iteration"] == before


@pytest.mark.slow
def test_a_resume_on_other_data_is_refused(digits_dir: Path, tmp_path: Path) -> None:
    import shutil

    data = tmp_path / "data"
    shutil.copytree(digits_dir, data)
    tiny_train(data, tmp_path, "r", epochs=2, stop_after_iteration=3)
    for image in sorted((data / "train" / "0").glob("*.png"))[:3]:
        image.unlink()
    with pytest.raises(UserError, match="^the training data has 317 images, the checkpoint's 320: resume with"):
        tiny_train(data, tmp_path, "r", epochs=2, resume="auto")


@pytest.mark.slow
def test_train_longer_recomputes_the_cosine(digits_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    tiny_train(digits_dir, tmp_path, "longer", epochs=1)
    first = last_checkpoint(tmp_path / "longer")
    assert first["optimizer"]["param_groups"][0]["lr"] == pytest.approx(0.0)  # its cosine ended at 0
    with caplog.at_level(logging.INFO, logger="ignite_fire"):
        results = tiny_train(digits_dir, tmp_path, "longer", epochs=2, resume="auto")
    assert "training longer: --epochs=2, the checkpoint's 1; the learning-rate schedule is recomputed" in caplog.text
    history = json.loads((tmp_path / "longer" / "history.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2]
    assert results["epochs_completed"] == 2 and results["status"] == "finished"
    last = last_checkpoint(tmp_path / "longer")
    assert last["trainer"]["iteration"] == 40
    assert last["scheduler"]["T_max"] == 40  # 2 epochs of 20 iterations
    # the cosine restarted half-way (not stuck at 0 where the 1-epoch cosine ended): the weights moved
    assert any(not torch.equal(first["model"][k], last["model"][k]) for k in first["model"] if "weight" in k)


# --- 5. signals: SIGHUP, a lost DataLoader worker, cv's advice; cv and sweep leave nothing when refused ---


def _children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children]


@pytest.mark.slow
def test_sighup_stops_like_sigterm(digits_dir: Path, tmp_path: Path) -> None:
    import signal

    from tests.helpers import start_training, wait_for

    process = start_training(digits_dir, tmp_path, "hup", "--epochs=200")
    wait_for(tmp_path / "hup" / "history.json", process)
    process.send_signal(signal.SIGHUP)
    stdout, stderr = process.communicate(timeout=1800)
    assert process.returncode == 129, stderr
    assert last_checkpoint(tmp_path / "hup")["trainer"]["iteration"] > 0
    assert json.loads((tmp_path / "hup" / "results.json").read_text())["status"] == "interrupted"
    assert "interrupted (SIGHUP): saved" in stdout and "--resume=auto --name=hup" in stdout
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_a_dataloader_worker_killed_with_sigkill_stops_like_a_signal(digits_dir: Path, tmp_path: Path) -> None:
    import os
    import signal

    from tests.helpers import start_training, wait_for

    process = start_training(digits_dir, tmp_path, "oom", "--epochs=200", "--num_workers=1", "--loggers=csv")
    wait_for(tmp_path / "oom" / "checkpoints" / "last.pt", process)  # history.json comes before last.pt
    own = Path(f"/proc/{process.pid}/cmdline").read_bytes()
    workers = [c for c in _children(process.pid) if Path(f"/proc/{c}/cmdline").read_bytes() == own]
    assert workers, "no DataLoader worker found"
    for worker in workers:  # the training loader's (persistent) worker, and validation's if running
        os.kill(worker, signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=1800)
    assert process.returncode == 137, stderr
    assert "Traceback" not in stderr, stderr
    assert last_checkpoint(tmp_path / "oom")["trainer"]["iteration"] > 0
    assert json.loads((tmp_path / "oom" / "results.json").read_text())["status"] == "interrupted"
    # PyTorch reports the lost worker as "killed by signal: Killed" or as "exited unexpectedly",
    # depending on which of its checks sees it first: both are the same stop
    assert "interrupted (a DataLoader worker " in stdout and "; out of memory? try a lower" in stdout
    assert "continue with --resume=auto --name=oom" in stdout


def test_lost_worker_recognises_pytorchs_messages() -> None:
    from ignite_fire.signals import lost_worker

    assert lost_worker(RuntimeError("DataLoader worker (pid 12) is killed by signal: Killed. ")) == (
        "a DataLoader worker was killed by signal: Killed"
    )
    assert lost_worker(RuntimeError("DataLoader worker (pid(s) 12, 13) exited unexpectedly")) is not None
    assert lost_worker(RuntimeError("mat1 and mat2 shapes cannot be multiplied")) is None


def test_a_lost_worker_raised_where_python_can_only_print_it_is_not_printed() -> None:
    """PyTorch's SIGCHLD handler can raise inside logging's after-fork lock release; Python then printed
    "Exception ignored ... RuntimeError: DataLoader worker ... is killed" with a traceback (seen under load)."""
    import sys

    from ignite_fire.signals import quiet_lost_worker_reports

    class RaisesWhenCollected:
        def __init__(self, message: str) -> None:
            self.message = message

        def __del__(self) -> None:
            raise RuntimeError(self.message)

    printed: list[str] = []
    previous = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: printed.append(str(unraisable.exc_value))
    try:
        quiet_lost_worker_reports()
        quiet_lost_worker_reports()  # a second loader: installed once, not wrapped twice
        RaisesWhenCollected("DataLoader worker (pid 12) is killed by signal: Killed. ")
        RaisesWhenCollected("mat1 and mat2 shapes cannot be multiplied")
    finally:
        sys.unraisablehook = previous
    assert printed == ["mat1 and mat2 shapes cannot be multiplied"]  # every other report still reaches the hook


@pytest.mark.slow
@pytest.mark.parametrize(
    ("refused", "message"),
    [
        ({"folds": 50}, "class '0' has 40 images, fewer than --folds=50"),
        ({"folds": 2, "groups": "no_such_groups.tsv"}, "--groups file not found"),
    ],
)
def test_a_cv_refused_before_training_leaves_nothing(
    digits_dir: Path, tmp_path: Path, refused: dict[str, Any], message: str
) -> None:
    from ignite_fire.competition.crossval import cross_validate as cv

    options = {"data_dir": str(digits_dir), "output_dir": str(tmp_path / "runs"), "name": "c", "epochs": 1}
    options |= {"wandb_mode": "disabled"}
    with pytest.raises(UserError, match=message):
        cv(str(TINY_EXPERIMENT), **{**options, **refused})
    assert not (tmp_path / "runs").exists()  # no cv.json, no empty folders
    cv(str(TINY_EXPERIMENT), folds=2, fold=0, stop_after_iteration=2, **options)  # the corrected command runs
    assert json.loads((tmp_path / "runs" / "c" / "cv.json").read_text())["folds"] == 2


@pytest.mark.slow
def test_cv_advice_after_sigterm_names_the_cv(digits_dir: Path, tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    from tests.helpers import REPO, wait_for

    args = [sys.executable, "-m", "ignite_fire", "cv", str(TINY_EXPERIMENT), "--folds=2", "--name=mycv"]
    args += [f"--data_dir={digits_dir}", f"--output_dir={tmp_path}", "--epochs=200", "--wandb_mode=disabled"]
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    process = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(tmp_path / "mycv" / "fold0" / "history.json", process)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=1800)
    assert process.returncode == 143, stderr
    assert "continue with the same cv command with --name=mycv --resume=auto" in stdout
    assert "--name=fold0" not in stdout + stderr


# --- 6. data checks after reading, before training ---


def _datasets(data_dir: Path, **overrides: Any):
    from ignite_fire.data.datasets import build_datasets
    from ignite_fire.data.transforms import build_transforms
    from ignite_fire.experiment import resolve_config

    config = resolve_config({"data_dir": str(data_dir), "image_size": 16, "num_workers": 0, **overrides}, "test")
    return build_datasets(config, build_transforms(config))


@pytest.fixture
def labelled(digits_dir: Path, tmp_path: Path) -> Path:
    """A train.txt of 12 'zero' and 12 'one' digits, the last 'one' mistyped as 'oen'."""
    import shutil

    root = tmp_path / "labelled"
    (root / "train").mkdir(parents=True)
    lines = []
    for digit, name in (("0", "zero"), ("1", "one")):
        for image in sorted((digits_dir / "train" / digit).glob("*.png"))[:12]:
            shutil.copy(image, root / "train" / image.name)
            lines.append(f"{image.name}\t{name}")
    lines[-1] = lines[-1].replace("\tone", "\toen")
    (root / "train.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_a_mistyped_label_is_refused_naming_the_closest_class(labelled: Path) -> None:
    with pytest.raises(UserError, match=r"^class 'oen' has [01] train / [01] val images: a mistyped 'one'\? fix its"):
        _datasets(labelled)
    assert "oen" in _datasets(labelled, allow_small_classes=True).classes  # allowed explicitly


def test_a_class_without_validation_images_is_refused(digits_dir: Path, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "data"
    shutil.copytree(digits_dir, root)
    for image in (root / "val" / "3").glob("*.png"):
        image.unlink()
    with pytest.raises(UserError, match=r"^class '3' has 32 train / 0 val images: fix its labels or add images"):
        _datasets(root)


def test_identical_images_in_train_and_val_are_a_warning_with_the_count(
    digits_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import shutil

    root = tmp_path / "data"
    shutil.copytree(digits_dir, root)
    for image in sorted((root / "train" / "5").glob("*.png"))[:3]:
        shutil.copy(image, root / "val" / "5" / f"copy_{image.name}")
    with caplog.at_level(logging.WARNING, logger="ignite_fire"):
        _datasets(root)
    assert "3 validation image(s) are byte-identical to training images" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ignite_fire"):
        _datasets(digits_dir)
    assert "byte-identical" not in caplog.text


# --- 7. held, but now cleanly ---


class Pickled:
    """An object that only a full (code-running) unpickling can rebuild."""


def test_a_pickled_pretrained_file_is_refused_in_one_line(tmp_path: Path) -> None:
    from ignite_fire.weights import read_state_dict

    path = tmp_path / "pickled.pt"
    torch.save({"model": {"weight": torch.zeros(2)}, "extra": Pickled()}, path)
    with pytest.raises(UserError) as caught:
        read_state_dict(path)
    message = str(caught.value)
    assert message.startswith(f"--pretrained={path} is refused: it holds pickled objects, not only tensors")
    assert "\n" not in message


def test_sync_without_an_api_key_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ignite_fire.sync import upload_run

    (tmp_path / "run" / "wandb" / "offline-run-20260101_000000-abcd1234").mkdir(parents=True)
    for name in ("WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE", "WANDB_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no_netrc"))
    with pytest.raises(UserError, match=r"^no W&B API key: run `wandb login` \(or set WANDB_API_KEY\), then sync"):
        upload_run(str(tmp_path / "run"))
    (tmp_path / "netrc").write_text("machine api.wandb.ai\n  login user\n  password x\n")
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    from ignite_fire.sync import wandb_credentials_found

    assert wandb_credentials_found()


def _disk_full_at_last_pt(monkeypatch: pytest.MonkeyPatch, failing_call: int) -> None:
    """The ``failing_call``-th write of last.pt fails with ENOSPC (an injected fault at the file layer)."""
    import errno

    from ignite.handlers import DiskSaver

    real = DiskSaver.__call__
    calls = {"last.pt": 0}

    def write(self: DiskSaver, checkpoint: Any, filename: str, metadata: Any = None) -> None:
        if filename == "last.pt":
            calls["last.pt"] += 1
            if calls["last.pt"] == failing_call:
                raise OSError(errno.ENOSPC, "No space left on device", filename)
        real(self, checkpoint, filename, metadata)

    monkeypatch.setattr(DiskSaver, "__call__", write)


@pytest.mark.slow
def test_disk_full_at_the_first_last_pt_advises_no_resume(
    digits_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _disk_full_at_last_pt(monkeypatch, 1)
    with pytest.raises(UserError) as caught:
        tiny_train(digits_dir, tmp_path, "full", epochs=1)
    message = str(caught.value)
    assert message.startswith(f"the disk is full: cannot write {tmp_path / 'full' / 'checkpoints' / 'last.pt'};")
    assert "--resume" not in message and message.endswith("and run again")


@pytest.mark.slow
def test_disk_full_at_a_later_last_pt_advises_the_resume(
    digits_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _disk_full_at_last_pt(monkeypatch, 2)
    with pytest.raises(UserError, match=r"cannot write .*last\.pt; .* continue with --resume=auto --name=full2$"):
        tiny_train(digits_dir, tmp_path, "full2", epochs=2)
    monkeypatch.undo()
    assert tiny_train(digits_dir, tmp_path, "full2", epochs=2, resume="auto")["epochs_completed"] == 2


@pytest.mark.slow
def test_a_resumed_epochs_train_loss_covers_the_whole_epoch(digits_dir: Path, tmp_path: Path) -> None:
    tiny_train(digits_dir, tmp_path, "straight", epochs=2)
    tiny_train(digits_dir, tmp_path, "paused", epochs=2, stop_after_iteration=30)  # the middle of epoch 2
    tiny_train(digits_dir, tmp_path, "paused", epochs=2, resume="auto")
    straight = json.loads((tmp_path / "straight" / "history.json").read_text())
    paused = json.loads((tmp_path / "paused" / "history.json").read_text())
    assert paused[1]["train_loss"] == pytest.approx(straight[1]["train_loss"], rel=1e-6)
    assert paused[1]["train_acc"] == pytest.approx(straight[1]["train_acc"], rel=1e-6)


# --- 5. found early: an experiment that exits at import, a sweep metric that cannot be measured ---


@pytest.mark.parametrize("call", ["sys.exit(0)", "raise SystemExit", "exit(3)"])
def test_an_experiment_that_exits_at_import_is_one_line(tmp_path: Path, call: str) -> None:
    path = tmp_path / "exits.py"
    path.write_text(f"import sys\nconfig = {{}}\n{call}\n")
    with pytest.raises(UserError, match=rf"^experiment {path}:3 calls sys.exit\(.*\) when imported: an experiment"):
        load_experiment(path)


def test_a_sweep_metric_that_is_not_a_validation_metric_is_refused_at_load() -> None:
    from ignite_fire.config import DEFAULTS
    from ignite_fire.sweeps.config import parse_sweep

    sweep = {"method": "random", "metric": {"name": "val_accuracy"}, "parameters": {"seed": {"values": [0, 1]}}}
    with pytest.raises(UserError, match=r"^exp.py: sweep metric.name: 'val_accuracy' is not a validation metric: "):
        parse_sweep(sweep, dict(DEFAULTS), {}, "exp.py")
    ok = {**sweep, "metric": {"name": "val_f1/cat"}}
    assert parse_sweep(ok, dict(DEFAULTS), {}, "exp.py").metric == "val_f1/cat"


def test_lengthen_schedule_continues_a_warmed_up_cosine_and_refuses_onecycle() -> None:
    import math

    from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, OneCycleLR, SequentialLR

    from ignite_fire.optim import lengthen_schedule

    def cosine(total: int) -> tuple[torch.optim.Optimizer, SequentialLR]:
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        warmup = LinearLR(optimizer, start_factor=0.5, total_iters=2)
        return optimizer, SequentialLR(optimizer, [warmup, CosineAnnealingLR(optimizer, T_max=total - 2)], [2])

    optimizer, short = cosine(10)
    for _ in range(10):
        optimizer.step()
        short.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)  # the short cosine ended
    optimizer, longer = cosine(20)
    fresh = longer.state_dict()
    longer.load_state_dict(short.state_dict())
    assert lengthen_schedule(longer, fresh)
    expected = 0.1 * (1 + math.cos(math.pi * 8 / 18)) / 2  # 8 cosine steps of the 18 the longer run has
    assert optimizer.param_groups[0]["lr"] == pytest.approx(expected)
    optimizer.step()
    longer.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * (1 + math.cos(math.pi * 9 / 18)) / 2)

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    one_cycle = OneCycleLR(optimizer, max_lr=0.1, total_steps=10)
    fresh = OneCycleLR(optimizer, max_lr=0.1, total_steps=20).state_dict()
    with pytest.raises(UserError, match=r"^OneCycleLR's total_steps depends on --epochs, and cannot be recomputed"):
        lengthen_schedule(one_cycle, fresh)
