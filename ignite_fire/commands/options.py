"""Checks a command's ``--option`` names against its function's signature, before python-fire runs it.

A mistyped option is one line with the closest valid option, instead of python-fire's usage text::

    ignite_fire: error: predict has no option --outptu; did you mean --output?
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterable
from typing import Any

from ignite_fire.config import DEFAULTS
from ignite_fire.errors import UserError

NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def option_names(function: Callable[..., Any]) -> tuple[list[str], bool]:
    """The named options of ``function`` and whether it takes ``**overrides`` (any other ``--key``)."""
    parameters = inspect.signature(function).parameters.values()
    named = [p.name for p in parameters if p.kind in NAMED]
    return named, any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def flag_names(args: Iterable[str]) -> list[str]:
    """The names of the ``--name[=value]`` flags in ``args``, up to a bare ``--`` (fire's own flags follow it)."""
    names = []
    for arg in args:
        if arg == "--":
            break
        if arg.startswith("--") and len(arg) > 2:
            names.append(arg[2:].split("=", 1)[0].replace("-", "_"))
    return names


def _closest(name: str, candidates: list[str]) -> str | None:
    matches = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None


def check_options(function: Callable[..., Any], names: Iterable[str], command: str) -> None:
    """Raise a one-line UserError for the first name that ``function`` does not take.

    A function with ``**overrides`` passes config keys through (the config checks them, and an
    experiment may add keys of its own); only a near miss of its own options (``sweep --cuont``)
    is refused here.
    """
    named, takes_overrides = option_names(function)
    for name in names:
        if name in named or (name.startswith("no") and name[2:] in named):  # fire's --noflag sets flag=False
            continue
        hint = _closest(name, named + list(DEFAULTS) if takes_overrides else named)
        if takes_overrides and (hint is None or hint in DEFAULTS or name in DEFAULTS):
            continue
        suggestion = f"; did you mean --{hint}?" if hint else f"; its options: {', '.join('--' + n for n in named)}"
        raise UserError(f"{command} has no option --{name}{suggestion}")
