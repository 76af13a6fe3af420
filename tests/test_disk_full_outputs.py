"""Disk full in export, explain, pseudo-label and lr-find: one line naming the file, no empty folder left.
(Issue 18, item 7.)

The fault is injected at the file layer: ``os.fsync`` fails with ENOSPC, as it does on a filesystem that
runs out of space while flushing (every atomic write of ignite_fire.files ends with it).
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from ignite_fire.errors import UserError
from ignite_fire.files import DiskFullError, output_folder
from tests.helpers import TINY_EXPERIMENT, train_tiny_run

EXPERIMENT = str(TINY_EXPERIMENT)


def disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    def fsync(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", fsync)


def assert_names_the_file(error: pytest.ExceptionInfo[Any], path: Path) -> None:
    message = str(error.value)
    assert isinstance(error.value, DiskFullError) and "\n" not in message, message
    assert message.startswith(f"the disk is full: cannot write {path};"), message


def test_output_folder_removes_only_the_empty_folders_it_created(tmp_path: Path) -> None:
    (tmp_path / "kept").mkdir()
    with pytest.raises(UserError, match="boom"), output_folder(tmp_path / "kept" / "a" / "b"):
        raise UserError("boom")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["kept"]  # a/b and a gone, kept (there before) stays
    with pytest.raises(UserError), output_folder(tmp_path / "new" / "deep") as folder:
        (folder.parent / "written.txt").write_text("x")  # a file written before the failure
        raise UserError("boom")
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["kept", "new", "new/written.txt"]
    with output_folder(tmp_path / "ok" / "deep") as folder:
        pass
    assert folder.is_dir()  # success keeps what it made


@pytest.fixture(scope="module")
def tiny_run(digits_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny_run(digits_dir, tmp_path_factory.mktemp("disk-full-runs"))


@pytest.mark.slow
@pytest.mark.parametrize("format", ["onnx", "torchscript"])
def test_export_on_a_full_disk(tiny_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, format: str) -> None:
    if format == "onnx":
        pytest.importorskip("onnx")
    from ignite_fire.inference.export import SUFFIXES, export

    out = tmp_path / "exports" / "deep" / f"model{SUFFIXES[format]}"
    disk_full(monkeypatch)
    with pytest.raises(DiskFullError) as error:
        export(str(tiny_run), format=format, output=str(out), experiment=EXPERIMENT)
    assert_names_the_file(error, out)
    assert list(tmp_path.iterdir()) == []  # exports/deep, made for the file, are gone again


@pytest.mark.slow
def test_explain_on_a_full_disk(tiny_run: Path, digits_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from ignite_fire.inference.explain import explain

    photos = tmp_path / "photos"
    (photos / "more").mkdir(parents=True)
    shutil.copy(sorted((digits_dir / "val" / "7").iterdir())[0], photos / "more" / "b.png")
    disk_full(monkeypatch)
    with pytest.raises(DiskFullError) as error:
        explain(str(tiny_run), input=str(photos), output=str(tmp_path / "cams"), experiment=EXPERIMENT)
    assert_names_the_file(error, tmp_path / "cams" / "more" / "b.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos"]  # cams/ and cams/more/ are gone again


@pytest.mark.slow
def test_pseudo_label_on_a_full_disk(tiny_cv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ignite_fire.competition.pseudo_label import pseudo_label

    output = tmp_path / "labels" / "pseudo.txt"
    disk_full(monkeypatch)
    with pytest.raises(DiskFullError) as error:
        pseudo_label(
            str(tiny_cv.cv_dir), input=str(tiny_cv.data_dir / "val"), output=str(output), experiment=EXPERIMENT
        )
    assert_names_the_file(error, output)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_lr_find_on_a_full_disk(digits_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ignite_fire.lr_find import run_lr_find

    overrides = {"data_dir": str(digits_dir), "output_dir": str(tmp_path / "runs"), "name": "probe"}
    disk_full(monkeypatch)
    with pytest.raises(DiskFullError) as error:
        run_lr_find(EXPERIMENT, num_iter=5, wandb_mode="disabled", **overrides)
    assert_names_the_file(error, tmp_path / "runs" / "probe" / "lr_find.png")
    assert list(tmp_path.iterdir()) == []  # runs/probe, made for the picture, are gone again
