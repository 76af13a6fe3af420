"""Dataset sources: the Tianchi label-file layout, CSV, class folders; class lists; unreadable images."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ignite_fire.config import RunConfig
from ignite_fire.data.datasets import build_datasets
from ignite_fire.data.sources import load_labelled_images
from ignite_fire.data.transforms import build_transforms
from ignite_fire.experiment import resolve_config
from tests.tianchi_data import TIANCHI_CLASSES, digits_sources, write_tianchi

PER_CLASS = {"高风险": 4, "中风险": 8, "低风险": 8, "无风险": 12, "非楼道": 6}


@pytest.fixture(scope="module")
def tianchi_digits(digits_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tianchi(tmp_path_factory.mktemp("tianchi"), digits_sources(digits_dir), PER_CLASS, size=16)


def make_config(data_dir: Path, **overrides) -> dict:
    return resolve_config({"data_dir": str(data_dir), "image_size": 16, "num_workers": 0, **overrides}, "test")


def datasets(data_dir: Path, **overrides):
    config = make_config(data_dir, **overrides)
    return build_datasets(config, build_transforms(config))


def test_tianchi_layout_keeps_chinese_names_and_the_experiment_order(tianchi_digits: Path) -> None:
    splits = datasets(tianchi_digits, classes=TIANCHI_CLASSES)
    assert splits.classes == TIANCHI_CLASSES
    counts = [a + b for a, b in zip(splits.train.class_counts(), splits.val.class_counts(), strict=True)]
    assert counts == [PER_CLASS[name] for name in TIANCHI_CLASSES]
    assert all(n > 0 for n in splits.val.class_counts()), "every class, the rare one too, is in validation"
    assert any("图片" in Path(path).name for path, _ in splits.train.samples), "Chinese file names are read"
    image, label = splits.train[0]
    assert tuple(image.shape) == (3, 16, 16) and 0 <= label < 5


def test_discovered_classes_are_the_sorted_labels(tianchi_digits: Path) -> None:
    data = load_labelled_images(RunConfig.from_dict(make_config(tianchi_digits)).data)
    assert data.classes == sorted(TIANCHI_CLASSES)
    assert data.val is None and "train.txt" in data.description


def test_val_txt_is_used_as_the_validation_set(tianchi_digits: Path, tmp_path: Path) -> None:
    root = tmp_path / "with_val"
    shutil.copytree(tianchi_digits, root)
    lines = (root / "train.txt").read_text(encoding="utf-8").splitlines()
    (root / "val").mkdir()
    val_lines = [line for line in lines if line.endswith("中风险")][:2]
    for line in val_lines:
        name = line.split("\t")[0]
        shutil.move(root / "train" / name, root / "val" / name)
    (root / "val.txt").write_text("\n".join(val_lines) + "\n", encoding="utf-8")
    (root / "train.txt").write_text("\n".join(x for x in lines if x not in val_lines) + "\n", encoding="utf-8")
    splits = datasets(root, classes=TIANCHI_CLASSES, allow_small_classes=True)  # val.txt: one class only
    assert splits.val.class_counts() == [0, 2, 0, 0, 0]
    assert len(splits.train) == sum(PER_CLASS.values()) - 2


def test_label_file_with_bom_header_spaces_and_crlf(tianchi_digits: Path, tmp_path: Path) -> None:
    root = tmp_path / "bom"
    shutil.copytree(tianchi_digits, root)
    lines = (root / "train.txt").read_text(encoding="utf-8").splitlines()
    text = "\r\n".join(["image\tlabel"] + [line.replace("\t", "   ") for line in lines]) + "\r\n\r\n"
    (root / "train.txt").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    data = load_labelled_images(RunConfig.from_dict(make_config(root)).data)
    assert len(data.train) == len(lines) and set(data.classes) == set(TIANCHI_CLASSES)


def test_csv_source_with_header_and_paths_relative_to_the_csv(tianchi_digits: Path, tmp_path: Path) -> None:
    root = tmp_path / "csv"
    shutil.copytree(tianchi_digits / "train", root / "images")
    rows = [line.split("\t") for line in (tianchi_digits / "train.txt").read_text(encoding="utf-8").splitlines()]
    (root / "train.csv").write_text(
        "path,label\n" + "".join(f"images/{name},{label}\n" for name, label in rows), encoding="utf-8"
    )
    splits = datasets(root, classes=TIANCHI_CLASSES, val_fraction=0.25)
    assert len(splits.train) + len(splits.val) == len(rows)
    assert "CSV" in load_labelled_images(RunConfig.from_dict(make_config(root)).data).description


def test_explicit_label_file(tianchi_digits: Path, tmp_path: Path) -> None:
    root = tmp_path / "explicit"
    shutil.copytree(tianchi_digits, root)
    (root / "train.txt").rename(root / "labels_v2.txt")
    data = load_labelled_images(RunConfig.from_dict(make_config(root, label_file="labels_v2.txt")).data)
    assert len(data.train) == sum(PER_CLASS.values())


def test_image_folder_with_only_train_is_split_stratified(digits_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "folders"
    shutil.copytree(digits_dir / "train", root / "train")
    splits = datasets(root, val_fraction=0.25)
    assert splits.classes == sorted(p.name for p in (digits_dir / "train").iterdir())
    assert all(n == 8 for n in splits.val.class_counts())
    assert not {p for p, _ in splits.train.samples} & {p for p, _ in splits.val.samples}


def test_image_folder_with_val(digits_dir: Path) -> None:
    splits = datasets(digits_dir)
    assert all(str(digits_dir / "val") in path for path, _ in splits.val.samples)


def test_on_bad_image_skip_leaves_out_unreadable_images(tianchi_digits: Path, tmp_path: Path, caplog) -> None:
    root = tmp_path / "bad"
    shutil.copytree(tianchi_digits, root)
    first = sorted((root / "train").iterdir())[0]
    first.write_bytes(first.read_bytes()[:100])  # truncated JPEG
    with caplog.at_level("INFO", logger="ignite_fire"):
        splits = datasets(root, on_bad_image="skip")
    assert len(splits.train) + len(splits.val) == sum(PER_CLASS.values()) - 1
    assert str(first) not in {p for p, _ in splits.train.samples + splits.val.samples}
    assert f"skipped 1 unreadable image (--on_bad_image=skip): {first.name}" in caplog.text
