"""--extra_train: pseudo-labelled images go to training in every fold and never to validation."""

from __future__ import annotations

from pathlib import Path

from ignite_fire.data.datasets import build_datasets
from ignite_fire.data.transforms import build_transforms
from ignite_fire.experiment import load_experiment
from tests.helpers import TINY_EXPERIMENT


def test_pseudo_labelled_images_are_never_in_validation(digits_dir: Path, tmp_path: Path) -> None:
    extra_images = sorted((digits_dir / "val").rglob("*.png"))
    labelled_twice = sorted((digits_dir / "train").rglob("*.png"))[0]  # also a labelled image: must not leak
    lines = [f"{p}\t{p.parent.name}" for p in [*extra_images, labelled_twice]]
    extra_file = tmp_path / "pseudo.txt"
    extra_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    extra = {str(p) for p in extra_images}
    for fold in range(2):
        overrides = {"data_dir": str(digits_dir / "train"), "folds": 2, "fold": fold, "extra_train": str(extra_file)}
        config = load_experiment(TINY_EXPERIMENT, overrides).config
        splits = build_datasets(config, build_transforms(config))
        train = [path for path, _ in splits.train.samples]
        val = {path for path, _ in splits.val.samples}
        assert not val & extra
        assert extra <= set(train)
        assert len(train) + len(val) == 320 + 80  # the labelled images once each, plus the extra ones
        labels = {path: splits.classes[label] for path, label in splits.train.samples}
        assert all(labels[path] == Path(path).parent.name for path in extra)
