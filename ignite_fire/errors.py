"""The one exception type for mistakes a user can make and fix, and the one-line warning format.

The CLI prints a :class:`UserError` as a single line on stderr and exits non-zero; any
other exception is a bug and keeps its traceback. Warnings are printed by :func:`show_warning`
(installed as ``warnings.showwarning`` by the CLI and by spawned worker processes).
"""

from __future__ import annotations

import sys
from typing import TextIO


class UserError(Exception):
    """A problem in the user's input: the message says what is wrong and how to fix it."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(_unwrap_worker_message(str(message), type(self).__name__))
        self.exit_code = exit_code


def _unwrap_worker_message(message: str, class_name: str) -> str:
    """The original one-line message of an error re-raised from a DataLoader worker process.

    PyTorch re-raises a worker's exception in the main process as the same type, with the message
    "Caught X in DataLoader worker process N." followed by the worker's traceback, whose last line
    is "module.X: <message>".
    """
    if not message.startswith("Caught ") or "\nOriginal Traceback" not in message:
        return message
    marker = f"{class_name}: "
    for line in reversed(message.splitlines()):
        if marker in line:
            return line.split(marker, 1)[1]
    return message.splitlines()[0]


def show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """Print a warning as one line, ``ignite_fire: warning: MESSAGE`` (no source file, no code line)."""
    text = " ".join(str(message).split())
    print(f"ignite_fire: warning: {text}", file=file or sys.stderr)
