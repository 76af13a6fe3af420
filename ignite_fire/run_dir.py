"""The run directory ``{output_dir}/{name}``: its name, its creation, its claim, and the checkpoint to resume.

A run *claims* its directory before it reads any data (:class:`RunDirClaim`): an exclusive
``fcntl.flock`` on the directory itself, so a second run with the same ``--name`` refuses in one
line instead of writing into the same files. The kernel drops the lock when the process exits,
``kill -9`` included, so a killed run never blocks the next one. A run that fails before it
trains removes the directory again if it created it (:meth:`RunDirClaim.discard`).
"""

from __future__ import annotations

import fcntl
import os
import shutil
from datetime import datetime
from pathlib import Path

from ignite_fire import distributed
from ignite_fire.errors import UserError
from ignite_fire.handlers.checkpoints import LAST_CHECKPOINT

NAME_MAX_FALLBACK = 255  # bytes: ext4, xfs, btrfs, apfs, ntfs (in UTF-16 units) all allow at least this


def name_max(output_dir: str | Path) -> int:
    """The longest file name (bytes) the filesystem of ``output_dir`` (or its nearest existing parent) allows."""
    folder = Path(output_dir).expanduser().absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError):
        return NAME_MAX_FALLBACK


def check_run_name(name: str, output_dir: str | Path) -> str:
    """``name`` if it is one path component that fits the filesystem, so the run stays inside ``output_dir``.

    Refuses, in one line and before anything is created: empty, ``.``, ``..``, an absolute path, a
    ``/``, ``\\`` or NUL in it, or a name longer (in UTF-8 bytes) than the filesystem allows.
    """
    if not name or name in (".", ".."):
        raise UserError(f"--name={name!r} is not a run name: give one folder name, e.g. --name=baseline")
    if Path(name).is_absolute() or any(c in name for c in ("/", "\\", "\0")):
        raise UserError(
            f"--name={name!r} is not one folder name (no /, \\ or NUL): a run stays inside --output_dir; "
            "use --output_dir=PATH to choose where runs go"
        )
    length, limit = len(name.encode("utf-8", "surrogateescape")), name_max(output_dir)
    if length > limit:
        raise UserError(
            f"--name is {length} bytes long, more than the {limit} this filesystem allows in a file name: shorten it"
        )
    return name


def run_name(name: str | int | None, experiment_name: str, output_dir: str) -> str:
    """``--name`` when given, or ``{experiment}-YYYYmmdd-HHMMSS``; checked to be one folder name in ``output_dir``."""
    if name:
        return check_run_name(str(name), output_dir)
    return check_run_name(f"{experiment_name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}", output_dir)


def first_missing(path: Path) -> Path | None:
    """The outermost of ``path`` and its parents that does not exist yet (what ``mkdir -p`` would create)."""
    missing = None
    for candidate in (path, *path.parents):
        if candidate.exists():
            break
        missing = candidate
    return missing


def prepare_run_dir(output_dir: str, name: str, resuming: bool) -> Path:
    """``{output_dir}/{name}``, created and checked writable; an existing run needs ``--resume``."""
    run_dir = Path(output_dir).expanduser() / check_run_name(name, output_dir)
    if not distributed.is_main_process():
        return run_dir  # rank 0 creates and checks it
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as error:
        raise UserError(
            f"output directory {run_dir} cannot be written ({error.strerror}): pass --output_dir=PATH"
        ) from error
    if not resuming and (run_dir / "checkpoints" / LAST_CHECKPOINT).exists():
        raise UserError(f"{run_dir} already holds a run: pass --resume=auto to continue it, or choose another --name")
    return run_dir


def find_resume_checkpoint(resume: str | None, output_dir: str, name: str | None) -> Path | None:
    """The ``last`` checkpoint ``--resume`` names: None, ``"auto"`` (``--name``'s run) or a file/run directory."""
    if resume in (None, "", "none", "None"):
        return None
    if resume == "auto":
        if not name:
            raise UserError("--resume=auto needs --name=RUN_NAME (the run to continue)")
        check_run_name(str(name), output_dir)
        path = Path(output_dir).expanduser() / str(name) / "checkpoints" / LAST_CHECKPOINT
        if not path.exists():
            raise UserError(f"--resume=auto found no checkpoint at {path}; start without --resume")
        return path
    path = Path(resume).expanduser()
    if path.is_dir():
        path = path / "checkpoints" / LAST_CHECKPOINT if (path / "checkpoints").is_dir() else path / LAST_CHECKPOINT
    if not path.is_file():
        raise UserError(f"--resume={resume}: no checkpoint at {path}")
    return path


def remove_partial_writes(run_dir: Path) -> list[Path]:
    """Remove the ``tmp*`` files a killed checkpoint write left in ``run_dir/checkpoints``; returns them.

    Call it only while holding the run's claim: a running run's ``tmp*`` is a write in progress.
    """
    leftovers = sorted(p for p in (run_dir / "checkpoints").glob("tmp*") if p.is_file())
    for leftover in leftovers:
        leftover.unlink()
    return leftovers


class RunDirClaim:
    """An exclusive claim on a run directory: ``fcntl.flock`` on the directory, held until :meth:`release`.

    Creates the directory (and its missing parents) through :func:`prepare_run_dir`. The lock
    lives on an open file descriptor, so it ends with the process however it ends (``kill -9``
    included): a stale claim never blocks. Other ranks of a distributed run claim nothing.

    Args:
        output_dir: the runs' parent directory (``--output_dir``).
        name: the run name.
        resuming: True when the run continues a checkpoint in this directory.

    Example::

        claim = RunDirClaim("runs", "baseline", resuming=False)  # UserError if "baseline" is running
        try:
            ...  # train, writing into claim.run_dir
        finally:
            claim.release()
    """

    def __init__(self, output_dir: str, name: str, resuming: bool) -> None:
        self._fd: int | None = None
        if not name:
            raise ValueError(f"Argument name should be a non-empty string, got {name!r}")
        check_run_name(name, output_dir)  # also for callers that did not go through run_name
        self.run_dir = Path(output_dir).expanduser() / name
        self.created = first_missing(self.run_dir) if distributed.is_main_process() else None
        self.run_dir = prepare_run_dir(output_dir, name, resuming)
        if distributed.is_main_process():
            self._lock()

    def _lock(self) -> None:
        fd = os.open(self.run_dir, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UserError(
                f"another run is using {self.run_dir} right now: wait for it to finish, or choose another --name"
            ) from None
        self._fd = fd

    def release(self) -> None:
        """Drop the lock (closing the descriptor); safe to call twice."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def discard(self) -> None:
        """Release, and remove the directories this claim created (a run that failed before training)."""
        self.release()
        if self.created is None:
            return
        shutil.rmtree(self.run_dir, ignore_errors=True)
        for parent in self.run_dir.parents:  # the parents mkdir created, while nobody else has used them
            if not parent.is_relative_to(self.created) or any(parent.iterdir()):
                break
            parent.rmdir()
        self.created = None

    def __enter__(self) -> RunDirClaim:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def __del__(self) -> None:
        self.release()
