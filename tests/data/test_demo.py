"""``demo_data``: the digits as an ImageFolder and a Tianchi-layout set that training and predict read."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ignite_fire.config import DEFAULTS, RunConfig
from ignite_fire.data.demo import CLASSES, TEST_PER_CLASS, demo_data
from ignite_fire.data.sources import load_labelled_images
from ignite_fire.errors import UserError
from ignite_fire.inference.predict import list_images


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo") / "demo"
    written = demo_data(root, size=16)
    assert written == {"folder": root / "folder", "tianchi": root / "tianchi"}
    return root


def counts(samples: list[tuple[str, str]]) -> dict[str, int]:
    return dict(Counter(label for _, label in samples))


def test_both_layouts_read_as_five_imbalanced_competition_classes(demo: Path) -> None:
    wanted_train = {name: n for name, (_, n) in CLASSES.items()}
    for layout in ("folder", "tianchi"):
        found = load_labelled_images(RunConfig.from_dict({**DEFAULTS, "data_dir": str(demo / layout)}).data)
        assert sorted(found.classes) == sorted(CLASSES)
        assert counts(found.train) == wanted_train
    folder = load_labelled_images(RunConfig.from_dict({**DEFAULTS, "data_dir": str(demo / "folder")}).data)
    assert folder.val is not None and counts(folder.val) == {name: TEST_PER_CLASS for name in CLASSES}


def test_the_tianchi_test_images_are_listed_in_a_shuffled_order_with_their_labels(demo: Path) -> None:
    root = demo / "tianchi"
    names = list_images(root / "A", root / "A.txt")
    assert len(names) == len(CLASSES) * TEST_PER_CLASS and names != sorted(names)
    labels = dict(line.split("\t") for line in (root / "A_labels.txt").read_text(encoding="utf-8").splitlines())
    assert list(labels) == names and Counter(labels.values()) == {name: TEST_PER_CLASS for name in CLASSES}


def test_a_second_call_keeps_what_is_there(demo: Path) -> None:
    before = (demo / "tianchi" / "train.txt").stat().st_mtime_ns
    demo_data(demo, layout="tianchi", size=16)
    assert (demo / "tianchi" / "train.txt").stat().st_mtime_ns == before


def test_a_folder_it_did_not_write_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(UserError, match="is not empty and demo-data did not write it: pass another --output"):
        demo_data(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"layout": "coco"}, "--layout='coco' is not a layout"), ({"size": 4}, "--size=4 must be an integer >= 8")],
)
def test_bad_options_are_one_line(tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        demo_data(tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()
