"""Bad training data: one clear line naming the problem, no traceback, nothing half-written.

The data checks run in-process (each is a UserError, which the CLI prints as one line); the
CLI tests cover what only a real run shows: a corrupt image met by a DataLoader worker process
and the stderr of a data error.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ignite_fire.data.datasets import build_datasets
from ignite_fire.data.transforms import build_transforms
from ignite_fire.errors import UserError
from ignite_fire.experiment import load_experiment, resolve_config
from ignite_fire.training import train
from tests.error_checks import assert_one_line_error, files_under
from tests.helpers import TINY_EXPERIMENT, run_cli, tiny_args
from tests.tianchi_data import TIANCHI_CLASSES, digits_sources, write_tianchi

PER_CLASS = {"高风险": 4, "中风险": 5, "低风险": 5, "无风险": 6, "非楼道": 5}


@pytest.fixture(scope="module")
def tianchi_small(digits_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tianchi(tmp_path_factory.mktemp("tianchi_bad"), digits_sources(digits_dir), PER_CLASS, size=16)


@pytest.fixture
def tianchi_copy(tianchi_small: Path, tmp_path: Path) -> Path:
    root = tmp_path / "data"
    shutil.copytree(tianchi_small, root)
    return root


def data_error(data_dir: Path, **overrides) -> str:
    """The message of the UserError that loading ``data_dir`` raises; it must be a single line."""
    config = resolve_config({"data_dir": str(data_dir), "image_size": 16, "num_workers": 0, **overrides}, "test")
    with pytest.raises(UserError) as caught:
        build_datasets(config, build_transforms(config))
    message = str(caught.value)
    assert "\n" not in message
    return message


def labels(root: Path) -> list[str]:
    return (root / "train.txt").read_text(encoding="utf-8").splitlines()


def test_label_file_naming_unknown_classes(tianchi_copy: Path) -> None:
    lines = labels(tianchi_copy)
    lines[3] = lines[3].split("\t")[0] + "\t高危"
    lines[7] = lines[7].split("\t")[0] + "\t未知"
    (tianchi_copy / "train.txt").write_text("\n".join(lines), encoding="utf-8")
    message = data_error(tianchi_copy, classes=TIANCHI_CLASSES)
    assert "train.txt has labels that are not classes of this experiment: '高危' (line 4), '未知' (line 8)" in message
    assert "the classes are 高风险, 中风险, 低风险, 无风险, 非楼道" in message


def test_label_file_naming_missing_files(tianchi_copy: Path) -> None:
    lines = labels(tianchi_copy) + [f"gone_{i}.jpg\t无风险" for i in range(7)]
    (tianchi_copy / "train.txt").write_text("\n".join(lines), encoding="utf-8")
    message = data_error(tianchi_copy)
    assert f"lists 7 images that do not exist in {tianchi_copy / 'train'}" in message
    assert f"gone_0.jpg (line {len(lines) - 6})" in message and "(7 in all)" in message


def test_class_with_no_images(tianchi_copy: Path) -> None:
    lines = [line for line in labels(tianchi_copy) if not line.endswith("\t高风险")]
    (tianchi_copy / "train.txt").write_text("\n".join(lines), encoding="utf-8")
    message = data_error(tianchi_copy, classes=TIANCHI_CLASSES)
    assert message.startswith("class '高风险' has no images in ")


def test_empty_class_folder(digits_dir: Path, tmp_path: Path) -> None:
    shutil.copytree(digits_dir / "train", tmp_path / "train")
    empty = sorted((tmp_path / "train").iterdir())[2]
    for image in empty.iterdir():
        image.unlink()
    assert data_error(tmp_path).startswith(f"class '{empty.name}' has no images in {tmp_path / 'train'}")


def test_empty_data_dir(tmp_path: Path) -> None:
    message = data_error(tmp_path)
    assert message.startswith(f"no images found in {tmp_path}: expected {tmp_path}/<class name>/<image files>")


def test_missing_data_dir(tmp_path: Path) -> None:
    assert (
        data_error(tmp_path / "nope")
        == f"data_dir not found: {tmp_path / 'nope'} (pass --data_dir=PATH to your images)"
    )


def test_non_utf8_label_file(tianchi_copy: Path) -> None:
    text = "\n".join(labels(tianchi_copy)) + "\n"
    (tianchi_copy / "train.txt").write_bytes(text.encode("gbk"))  # how a Windows editor in China may save it
    message = data_error(tianchi_copy)
    assert message.startswith(f"{tianchi_copy / 'train.txt'} is not UTF-8 text (byte 0x")
    assert "save it as UTF-8" in message


def test_malformed_line_and_duplicate_file(tianchi_copy: Path) -> None:
    lines = labels(tianchi_copy)
    (tianchi_copy / "train.txt").write_text("\n".join([*lines, "just_a_name.jpg"]), encoding="utf-8")
    assert f"line {len(lines) + 1}: expected 'file_name<TAB>label', got 'just_a_name.jpg'" in data_error(tianchi_copy)
    (tianchi_copy / "train.txt").write_text("\n".join([*lines, lines[0]]), encoding="utf-8")
    name = lines[0].split("\t")[0]
    assert f"lists {name} twice (lines 1 and {len(lines) + 1})" in data_error(tianchi_copy)


@pytest.mark.slow
def test_cli_data_error_is_one_line_and_writes_nothing(tianchi_copy: Path, tmp_path: Path) -> None:
    (tianchi_copy / "train.txt").write_bytes("a.jpg\t高风险\n".encode("gbk"))
    result = run_cli(*tiny_args(tianchi_copy, tmp_path / "runs", "bad", "--wandb_mode=disabled"))
    assert_one_line_error(result, "train.txt is not UTF-8 text")
    assert files_under(tmp_path / "runs") == []


@pytest.mark.slow
def test_corrupt_image_in_a_worker_process_names_the_file(tianchi_copy: Path, tmp_path: Path) -> None:
    broken = sorted((tianchi_copy / "train").iterdir())[4]
    broken.write_bytes(broken.read_bytes()[:60])
    result = run_cli(
        *tiny_args(tianchi_copy, tmp_path / "runs", "corrupt", "--epochs=1", "--num_workers=1", "--wandb_mode=disabled")
    )
    line = assert_one_line_error(result, f"cannot read image {broken}", "--on_bad_image=skip")
    assert "DataLoader worker process" not in line and "Caught" not in line.split(str(broken))[0]
    assert not list((tmp_path / "runs").rglob("*.pt")), "no checkpoint from a failed first epoch"


def test_on_bad_image_skip_trains_and_reports_the_count(
    tianchi_copy: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = sorted((tianchi_copy / "train").iterdir())[4]
    broken.write_bytes(b"not a JPEG")
    overrides = {"data_dir": str(tianchi_copy), "output_dir": str(tmp_path), "name": "skip", "epochs": 1}
    with caplog.at_level("INFO", logger="ignite_fire"):
        results = train(
            load_experiment(TINY_EXPERIMENT, {**overrides, "on_bad_image": "skip", "wandb_mode": "disabled"})
        )
    assert f"skipped 1 unreadable image (--on_bad_image=skip): {broken.name}" in caplog.text
    assert results["status"] == "finished" and Path(results["best_checkpoint"]).is_file()


def test_a_single_class_is_refused_in_one_line(digits_dir: Path, tmp_path: Path) -> None:
    shutil.copytree(digits_dir / "train" / "3", tmp_path / "train" / "3")
    message = data_error(tmp_path)
    assert "single class, '3'" in message and "at least 2 classes" in message


def test_a_csv_whose_first_row_has_one_field_names_the_file_and_columns(tianchi_copy: Path) -> None:
    names = [line.split("\t")[0] for line in labels(tianchi_copy)]
    (tianchi_copy / "train.txt").unlink()
    (tianchi_copy / "train.csv").write_text("\n".join(names) + "\n", encoding="utf-8")
    message = data_error(tianchi_copy)
    assert str(tianchi_copy / "train.csv") in message and "line 1: expected 'path,label'" in message
