from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ignite.handlers import DiskSaver

from ignite_fire.files import DiskFullError, give_umask_mode, is_disk_full


class SafeDiskSaver(DiskSaver):
    """A :class:`ignite.handlers.DiskSaver` that never leaves a moment without the previous checkpoint.

    Ignite's ``Checkpoint`` removes the file it replaces *before* writing the new one, so a
    ``kill -9`` between the two loses both. This saver defers every removal until the next file
    has been written whole (DiskSaver's atomic write: a temporary file, then ``os.replace``),
    and skips the removal when the new file has the same name (it was replaced atomically).

    Args:
        dirname: directory for the checkpoint files; created if missing.
        **kwargs: passed to :class:`ignite.handlers.DiskSaver` (``require_empty`` defaults to False).

    Example::

        saver = SafeDiskSaver("runs/x/checkpoints")
        trainer.add_event_handler(Events.EPOCH_COMPLETED, Checkpoint(to_save, saver, n_saved=2))
    """

    def __init__(self, dirname: str | Path, **kwargs: Any) -> None:
        kwargs.setdefault("require_empty", False)
        kwargs["atomic"] = True
        super().__init__(dirname, **kwargs)
        self._pending_removals: list[str] = []

    def __call__(self, checkpoint: Mapping, filename: str, metadata: Mapping | None = None) -> None:
        before = set(self.dirname.glob("tmp*"))
        try:
            super().__call__(checkpoint, filename, metadata)
        except (OSError, RuntimeError) as error:  # torch.save wraps a failed write in a RuntimeError
            for partial in set(self.dirname.glob("tmp*")) - before:
                partial.unlink(missing_ok=True)
            if is_disk_full(error):
                raise DiskFullError(self.dirname / filename) from error
            raise
        if (self.dirname / filename).is_file():  # DiskSaver gives 0o644 whatever the umask
            give_umask_mode(self.dirname / filename)
        pending, self._pending_removals = self._pending_removals, []
        for old in pending:
            if old != filename and (self.dirname / old).exists():
                super().remove(old)

    def remove(self, filename: str) -> None:
        self._pending_removals.append(filename)
