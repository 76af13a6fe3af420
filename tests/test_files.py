"""Atomic writes: whole or not at all, no temporary left behind, the umask's file mode, and one line
naming the file when the disk is full."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from ignite_fire import files
from ignite_fire.files import DiskFullError, atomic_path, write_json_atomic


def test_atomic_writes_get_the_umask_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_json_atomic(tmp_path / "a.json", {"x": 1})
        os.umask(0o027)
        write_json_atomic(tmp_path / "b.json", {"x": 1})
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.json").stat().st_mode & 0o777 == 0o640


def test_disk_full_names_the_file_and_keeps_the_old_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "results.json"
    write_json_atomic(path, {"epoch": 1})

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(DiskFullError) as caught:
        write_json_atomic(path, {"epoch": 2})
    message = str(caught.value)
    assert "\n" not in message and "the disk is full" in message and str(path) in message
    assert json.loads(path.read_text()) == {"epoch": 1}  # the earlier file is whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]  # no temporary file left


def test_the_temporary_file_is_renamed_over_the_target(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "picture.png"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".picture.png.") and tmp.suffix == ".tmp"
        tmp.write_bytes(b"new")
        assert not target.exists()  # readers see nothing until the block succeeds
    assert target.read_bytes() == b"new"
    assert [p.name for p in target.parent.iterdir()] == ["picture.png"]


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "curves.png"
    target.write_bytes(b"old")
    from ignite_fire.files import DiskFullError

    # disk full becomes the one-line error naming the file, not the temporary name
    with pytest.raises(DiskFullError, match=f"^the disk is full: cannot write {target};"), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise OSError(28, "No space left on device")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]


def test_check_outputs_refuses_an_input_a_folder_inside_one_and_two_outputs_on_one_path(tmp_path: Path) -> None:
    from ignite_fire.errors import UserError
    from ignite_fire.files import check_outputs

    checkpoint, photos = tmp_path / "best.pt", tmp_path / "photos"
    checkpoint.write_bytes(b"weights")
    photos.mkdir()
    link = tmp_path / "link.pt"
    link.symlink_to(checkpoint)
    hard = tmp_path / "hard.pt"
    os.link(checkpoint, hard)
    inputs = {"CHECKPOINT": checkpoint, "--input": photos}
    cases = [
        ({"--output": checkpoint}, f"--output={checkpoint} is the input given as CHECKPOINT={checkpoint}"),
        ({"--output": link}, f"--output={link} is the input given as CHECKPOINT={checkpoint}"),  # a symlink to it
        ({"--output": hard}, f"--output={hard} is the input given as CHECKPOINT={checkpoint}"),  # a hard link
        ({"--output": photos}, f"--output={photos} is the input given as --input={photos}"),
        ({"--output": photos / "a" / "s.txt"}, f"--output={photos / 'a' / 's.txt'} is inside the input --input"),
        ({"--output": tmp_path / "x", "--probabilities": tmp_path / "x"}, "--output and --probabilities are both"),
    ]
    for outputs, message in cases:
        with pytest.raises(UserError) as caught:
            check_outputs(outputs, inputs)
        assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
    check_outputs({"--output": tmp_path / "s.txt", "--probabilities": tmp_path / "p.csv"}, inputs)  # all apart: fine
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "hard.pt", "link.pt", "photos"]
