"""Atomic file writes: a reader (or a crash) never sees half a file."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ignite_fire.errors import UserError

DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


class DiskFullError(UserError):
    """The disk (or quota) filled up while writing the file ``path``; the earlier files are whole.

    ``advice`` is what to do once space is free (a training run with a ``last.pt`` adds its
    ``--resume=auto --name=NAME``); nothing more is promised, so a command that has nothing to
    continue says only what it could not write.
    """

    def __init__(self, path: str | Path, advice: str = "") -> None:
        self.path = Path(path)
        super().__init__(
            f"the disk is full: cannot write {path}; free some space (earlier files are whole) and "
            + (advice or "run again")
        )


def is_disk_full(error: BaseException) -> bool:
    """``error`` (or an error it was raised from, e.g. torch.save's RuntimeError) is ENOSPC/EDQUOT."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in DISK_FULL_ERRNOS:
            return True
        if "No space left on device" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def default_file_mode() -> int:
    """``0o666`` less the umask: the mode ``open()`` gives a new file (mkstemp gives 0o600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def give_umask_mode(path: str | Path) -> None:
    """Give ``path`` :func:`default_file_mode`: the mode a plain ``open()`` would have given it.

    Every temporary file that is renamed into place goes through here: mkstemp makes 0o600 files,
    Ignite's DiskSaver adds only group/other read, and the README promises files with the umask's mode.
    """
    os.chmod(path, default_file_mode())


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, default_file_mode())
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        if os.path.exists(tmp):
            os.remove(tmp)
        if is_disk_full(error):
            raise DiskFullError(path) from error
        raise


def write_json_atomic(path: str | Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed over ``path`` when the block succeeds.

    For writers that take a file name (``figure.savefig``, Graphviz ``dot -o``). On any error the
    temporary file is removed and ``path`` is untouched.

    Example::

        with atomic_path("run/curves.png") as tmp:
            figure.savefig(tmp, format="png")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        give_umask_mode(tmp)  # after the writer: one that replaced the file made it anew
        os.replace(tmp, path)
    except Exception as error:
        if is_disk_full(error) and not isinstance(error, DiskFullError):
            raise DiskFullError(path) from error  # the file named, not the temporary name or "a file"
        raise
    finally:
        if tmp.exists():
            tmp.unlink()


@contextmanager
def output_folder(path: str | Path) -> Iterator[Path]:
    """Create the folder ``path`` and its missing parents; if the block fails, remove those it created that are empty.

    A command that fails on its first write (a full disk, a read-only folder) leaves no empty folder behind;
    a folder that already existed, or that holds a file written before the failure, stays.

    Example::

        with output_folder(out.parent):
            write_text_atomic(out, text)
    """
    path = Path(path)
    created: list[Path] = []  # deepest first
    folder = path.absolute()
    while not folder.exists() and folder != folder.parent:
        created.append(folder)
        folder = folder.parent
    path.mkdir(parents=True, exist_ok=True)
    try:
        yield path
    except BaseException:
        for folder in created:
            try:
                folder.rmdir()  # only an empty folder: rmdir refuses the others
            except OSError:
                break
        raise



def _same_file(a: Path, b: Path) -> bool:
    """``a`` and ``b`` name one file: the same path once links are followed, or the same inode (a hard link)."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet
        return False


def check_outputs(outputs: dict[str, Path], inputs: dict[str, Path]) -> None:
    """Refuse, in one line, an output that is (or is inside) an input, or two outputs on one path.

    ``outputs`` and ``inputs`` map the flag that named a path (``"--output"``, ``"CHECKPOINT"``) to the
    path. Call it before anything is written: a command never writes over what it reads.

    Example::

        check_outputs({"--output": Path(output)}, {"CHECKPOINT": checkpoint, "--input": image_dir})
    """
    for flag, output in outputs.items():
        for source, path in inputs.items():
            if _same_file(output, path):
                raise UserError(f"{flag}={output} is the input given as {source}={path}: choose another {flag}")
            if path.is_dir() and output.resolve().is_relative_to(path.resolve()):
                raise UserError(f"{flag}={output} is inside the input {source}={path}: choose another {flag}")
    seen: dict[Path, str] = {}
    for flag, output in outputs.items():
        key = output.resolve()
        if key in seen:
            raise UserError(
                f"{seen[key]} and {flag} are both {output}: one would overwrite the other, give them different paths"
            )
        seen[key] = flag
