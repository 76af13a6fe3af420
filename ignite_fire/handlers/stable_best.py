"""``checkpoints/best.pt``: a stable name that is always a copy of the current best checkpoint."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ignite.engine import Engine, Events
from ignite.handlers import Checkpoint

from ignite_fire.files import give_umask_mode

BEST_CHECKPOINT = "best.pt"


class StableBest:
    """Keeps ``{dirname}/best.pt`` a copy of the best of the ``n_saved`` files of a best-model ``Checkpoint``.

    Peers keep a fixed name for the best model (``best.pt``, ``model_best.pth.tar``); Ignite's names
    change with the epoch and score. After every evaluation, when the checkpointer's best file is
    another one than the last copied, it is copied to a temporary file beside ``best.pt`` (named
    ``tmp*``, as the leftovers a resume removes) and renamed over it, so a reader never sees half a file.

    Args:
        checkpointer: the best-model checkpointer (attached to the evaluator before this handler).
        dirname: the folder of its files; ``best.pt`` goes there.

    Example::

        best = Checkpoint(to_save, DiskSaver("runs/x/checkpoints"), score_function=..., n_saved=2)
        evaluator.add_event_handler(Events.COMPLETED, best)
        StableBest(best, "runs/x/checkpoints").attach(evaluator)
    """

    def __init__(self, checkpointer: Checkpoint, dirname: str | Path) -> None:
        if not isinstance(checkpointer, Checkpoint):
            raise TypeError(f"Argument checkpointer should be a Checkpoint, got {type(checkpointer).__name__}.")
        self.checkpointer = checkpointer
        self.dirname = Path(dirname)
        self.copied: str | None = None  # the file best.pt is a copy of (after a resume: copied again once)

    @property
    def path(self) -> Path:
        return self.dirname / BEST_CHECKPOINT

    def __call__(self, _: Engine | None = None) -> None:
        best = self.checkpointer.last_checkpoint  # the highest-priority of the saved files
        if best is None:
            return
        source = self.dirname / Path(best).name  # the best files live beside best.pt (a relative dirname too)
        if str(source) == self.copied and self.path.is_file():
            return
        fd, tmp = tempfile.mkstemp(dir=self.dirname, prefix="tmp", suffix=".pt")
        os.close(fd)
        try:
            shutil.copyfile(source, tmp)
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            give_umask_mode(tmp)  # mkstemp's 0o600 otherwise
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
        self.copied = str(source)

    def attach(self, evaluator: Engine) -> None:
        evaluator.add_event_handler(Events.COMPLETED, self)
