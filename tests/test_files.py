"""atomic_path: the target appears whole or not at all, and no temporary file is left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from ignite_fire.files import atomic_path


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
    with pytest.raises(OSError, match="No space left"), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise OSError(28, "No space left on device")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]
