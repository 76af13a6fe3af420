"""Signals, in one place: which ones stop a run cleanly, their exit codes, and a lost DataLoader worker.

SIGINT (Ctrl+C), SIGTERM (``kill``, ``timeout``, Slurm) and SIGHUP (a closed terminal or ssh session)
all stop a run the same way: the trainer finishes its iteration, saves ``last.pt`` and exits with
``128 + signal`` (130, 143, 129) and the resume advice. Who handles them where:

- :class:`ignite_fire.handlers.interrupt.Interrupt`: during ``trainer.run`` (:func:`catch`);
- :func:`ignore_in_worker`: DataLoader workers leave them to the main process;
- :func:`blocked`: blocked while workers start (see ``data.loaders.SignalSafeLoader``);
- ``sweeps.runner``: between trials they stop the sweep (:func:`catch` with a raising handler);
- a DataLoader worker killed (SIGKILL, the OOM killer) is handled like a signal: :func:`lost_worker`
  recognises it, :func:`ignore_lost_workers` keeps the other workers' ends from raising again, and
  :func:`quiet_lost_worker_reports` keeps PyTorch's report from being printed where it cannot be handled.

Example::

    previous = signals.catch(lambda signum, frame: print(signals.name(signum)))
    try:
        ...
    finally:
        signals.restore(previous)
"""

from __future__ import annotations

import re
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""The signals that stop a run cleanly (last.pt, exit ``128 + signal``)."""

WORKER_LOST_EXIT_CODE = 128 + signal.SIGKILL
"""The exit code after a DataLoader worker died (137, as for the OOM killer's SIGKILL)."""

Handler = Callable[[int, FrameType | None], Any]


def exit_code(signum: int) -> int:
    """The shell's code for a process stopped by ``signum``: 130 (SIGINT), 143 (SIGTERM), 129 (SIGHUP)."""
    return 128 + int(signum)


INTERRUPTED_EXIT_CODE = exit_code(signal.SIGINT)
"""130: Ctrl+C outside training (the CLI's KeyboardInterrupt)."""


def name(signum: int) -> str:
    return signal.Signals(signum).name


def catch(handler: Handler) -> dict[int, Any]:
    """Install ``handler`` for every stop signal; returns the previous handlers for :func:`restore`
    (none outside the main thread, where signals cannot be caught)."""
    previous: dict[int, Any] = {}
    for signum in STOP_SIGNALS:
        try:
            previous[signum] = signal.signal(signum, handler)
        except ValueError:  # not the main thread
            restore(previous)
            return {}
    return previous


def default(signum: int) -> None:
    """Give ``signum`` its default action back (a second Ctrl+C while stopping: the next one kills)."""
    signal.signal(signum, signal.SIG_DFL)


def restore(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def ignore_in_worker(worker_id: int = 0) -> None:
    """DataLoader ``worker_init_fn``: leave the stop signals to the main process.

    ``timeout``, Slurm and ``kill -- -PGID`` signal the whole process group; a worker killed first
    would make the main process die of "DataLoader worker is killed by signal" instead of stopping
    cleanly (last checkpoint, exit 130/143/129). The main process ends its workers itself.
    """
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)  # discards one that came while blocked (see blocked())
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


@contextmanager
def blocked() -> Iterator[None]:
    """Block the stop signals in this thread (processes started meanwhile inherit the mask); a signal
    that came meanwhile is delivered when the block ends."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


_WORKER_LOST = re.compile(
    r"DataLoader worker \(pid(?:\(s\))? [\d, ]+\) "
    r"(is killed by signal: [^.]+|exited unexpectedly(?: with exit code -?\d+)?)"
)


def lost_worker(error: BaseException) -> str | None:
    """What happened, when ``error`` is PyTorch's report of a DataLoader worker that died (killed by a
    signal, often the out-of-memory killer, or exited); None for any other error."""
    if not isinstance(error, RuntimeError):
        return None
    match = _WORKER_LOST.search(str(error))
    return f"a DataLoader worker {match.group(1).replace('is killed', 'was killed')}" if match else None



def ignore_lost_workers() -> None:
    """Stop PyTorch's SIGCHLD handler, which raises "DataLoader worker ... is killed" in the main thread,
    anywhere, each time a worker ends: once a lost worker is handled (or at exit), the others ending
    must not raise again in the middle of saving the checkpoint or results.json."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)


def quiet_lost_worker_reports() -> None:
    """Drop PyTorch's "DataLoader worker ... is killed" error where Python can only print it.

    PyTorch's SIGCHLD handler raises it in whatever the main thread runs when a worker dies. When that is
    a callback that cannot raise (``logging``'s lock release after a fork, a ``__del__``), Python prints
    "Exception ignored in ..." with a traceback and goes on. The loss is not lost: the DataLoader finds
    the dead worker at its next batch and raises it again, where ``training`` stops the run cleanly.
    Installed once, as a :data:`sys.unraisablehook` that passes every other report on.
    """
    if getattr(sys.unraisablehook, "ignite_fire_lost_workers", False):
        return
    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if unraisable.exc_value is not None and lost_worker(unraisable.exc_value) is not None:
            return
        previous(unraisable)

    hook.ignite_fire_lost_workers = True  # type: ignore[attr-defined]  # marks it installed
    sys.unraisablehook = hook
