"""pseudo-label: a label file of the confident fold-ensemble predictions, nothing written beside the test images."""

from __future__ import annotations

from pathlib import Path

import pytest

from ignite_fire.competition.pseudo_label import pseudo_label
from ignite_fire.data.sources import read_label_file
from ignite_fire.errors import UserError
from tests.helpers import TINY_EXPERIMENT

EXPERIMENT = str(TINY_EXPERIMENT)  # the folds' own build_model: imported only when named


def snapshot(folder: Path) -> list[tuple[str, int]]:
    return sorted((str(p), p.stat().st_mtime_ns) for p in folder.rglob("*"))


@pytest.mark.slow
def test_pseudo_label_writes_confident_predictions_and_leaves_the_test_folder_alone(tiny_cv, tmp_path: Path) -> None:
    images = tiny_cv.data_dir / "val"
    before = snapshot(images)
    output = tmp_path / "labels" / "pseudo.txt"
    everything = pseudo_label(
        str(tiny_cv.cv_dir), input=str(images), threshold=1e-6, output=str(output), experiment=EXPERIMENT
    )
    assert sum(everything.values()) == 80  # every image reaches a tiny threshold
    samples = read_label_file(output, sorted(everything))  # the names resolve from the file's own folder
    assert sorted(Path(p).resolve() for p, _ in samples) == sorted(p.resolve() for p in images.rglob("*.png"))
    confident = pseudo_label(
        str(tiny_cv.cv_dir), input=str(images), threshold=0.5, output=str(output), experiment=EXPERIMENT
    )
    assert sum(confident.values()) == len(output.read_text(encoding="utf-8").splitlines()) < 80
    assert snapshot(images) == before


@pytest.mark.slow
def test_pseudo_label_refuses_to_write_into_the_test_folder(tiny_cv) -> None:
    images = tiny_cv.data_dir / "val"
    with pytest.raises(UserError, match="is inside --input"):
        pseudo_label(str(tiny_cv.cv_dir), input=str(images), output=str(images / "pseudo.txt"))
    with pytest.raises(UserError, match="not a cv directory"):
        pseudo_label(str(images), input=str(images))


def test_pseudo_label_checks_its_arguments_before_loading_a_model(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"is not a cv directory \(no cv.json\)"):
        pseudo_label(str(tmp_path), input=str(tmp_path))
    (tmp_path / "cv.json").write_text("{}")
    with pytest.raises(UserError, match=r"--threshold must be a probability in \(0, 1\], got 1.5"):
        pseudo_label(str(tmp_path), input=str(tmp_path), threshold=1.5)
    with pytest.raises(UserError, match="--input folder not found: .*nope"):
        pseudo_label(str(tmp_path), input=str(tmp_path / "nope"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cv.json"]  # nothing written
    # (an --output inside --input is refused once the checkpoints are known: tests/test_security.py)
