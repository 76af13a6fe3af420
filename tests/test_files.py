"""Atomic writes: the umask's file mode, and one line naming the file when the disk is full."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from ignite_fire import files
from ignite_fire.files import DiskFullError, write_json_atomic


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
