"""Every file a run, export, predict and explain writes has the umask's mode (issue 21, item 6)."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ignite_fire.files import atomic_path, default_file_mode
from tests.helpers import TINY_EXPERIMENT

UMASK = 0o002  # not 022: Ignite's DiskSaver gives 0o644 and would pass under 022 by chance


@pytest.fixture
def umask() -> Iterator[int]:
    old = os.umask(UMASK)
    try:
        yield UMASK
    finally:
        os.umask(old)


def wrong_modes(folder: Path, expected: int) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): oct(stat.S_IMODE(path.stat().st_mode))
        for path in folder.rglob("*")
        if path.is_file() and stat.S_IMODE(path.stat().st_mode) != expected
    }


def test_atomic_path_gives_the_umask_mode(tmp_path: Path, umask: int) -> None:
    with atomic_path(tmp_path / "a.png") as tmp:
        tmp.write_bytes(b"x")
    assert stat.S_IMODE((tmp_path / "a.png").stat().st_mode) == 0o666 & ~umask == default_file_mode()


@pytest.mark.slow
def test_every_file_of_a_run_export_predict_and_explain_has_the_umask_mode(
    digits_dir: Path, tmp_path: Path, umask: int
) -> None:
    from ignite_fire.commands.train import train
    from ignite_fire.inference.explain import explain
    from ignite_fire.inference.export import export
    from ignite_fire.inference.predict import predict

    out = tmp_path / "runs"
    train(
        str(TINY_EXPERIMENT), data_dir=str(digits_dir), output_dir=str(out), name="modes", epochs=2,
        plots=True, loggers="csv",
    )
    run_dir = out / "modes"
    images = tmp_path / "images"
    images.mkdir()
    for source in sorted((digits_dir / "val" / "3").iterdir())[:4]:
        shutil.copy(source, images / source.name)
    experiment = str(TINY_EXPERIMENT)  # its own build_model
    export(str(run_dir), output=str(run_dir / "model.onnx"), experiment=experiment)
    submission = str(run_dir / "predict" / "submission.txt")
    predict(str(run_dir), input=str(images), output=submission, num_workers=0, experiment=experiment)
    explain(str(run_dir), input=str(images), output=str(run_dir / "gradcam"), experiment=experiment)
    names = {str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file()}
    assert {"checkpoints/best.pt", "model.onnx", "predict/submission.txt"} <= names
    assert any(n.endswith(".png") for n in names) and any(n.startswith("gradcam/") for n in names)
    assert wrong_modes(run_dir, 0o666 & ~umask) == {}
