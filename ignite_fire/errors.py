"""The one exception type for mistakes a user can make and fix.

The CLI prints a :class:`UserError` as a single line on stderr and exits non-zero; any
other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem in the user's input: the message says what is wrong and how to fix it."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
