"""Warnings shown once per message: a failing picture or W&B call warns, and repeats stay quiet."""

from __future__ import annotations

import warnings

_warned_once: set[str] = set()


def warn_once(message: str) -> None:
    """``warnings.warn(message, RuntimeWarning)`` the first time this exact message is seen in the process."""
    if message not in _warned_once:
        _warned_once.add(message)
        warnings.warn(message, RuntimeWarning, stacklevel=2)
