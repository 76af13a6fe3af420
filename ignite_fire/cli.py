"""The command line: the registry of commands (:data:`COMMANDS`), help, and one-line errors and warnings.

    python -m ignite_fire EXPERIMENT.py [--key=value ...]          train (same as `train EXPERIMENT.py`)
    python -m ignite_fire EXPERIMENT.py --help                     the experiment's config keys
    python -m ignite_fire --help                                   every command, one line each
    python -m ignite_fire COMMAND --help                           a command's options
    python -m ignite_fire train runs/NAME/config.json [--key=value ...]     re-run a run (--print_config: show it)
    python -m ignite_fire cv EXPERIMENT.py --folds=5 --name=NAME [--key=value ...]   k-fold cv, OOF, decision
    python -m ignite_fire pseudo-label CV_DIR --input=DIR [--list=A.txt] --threshold=0.9 --output=pseudo.txt
    python -m ignite_fire explain CHECKPOINT --input=DIR [--output=DIR]      Grad-CAM overlays of the predictions
    python -m ignite_fire export CHECKPOINT --format=onnx|torchscript [--output=FILE]
    python -m ignite_fire lr-find EXPERIMENT.py [--num_iter=100] [--key=value ...]   LR finder (lr_find.png)

Each command is a plain function in :mod:`ignite_fire.commands` (one module each); python-fire turns
its signature into flags. Option names are checked against that signature first, so a mistyped
one is one line with the closest valid option. Errors a user can fix are one line on stderr and
exit 2 (``--debug`` shows the traceback); warnings are one line each, ``ignite_fire: warning: ...``.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any

import fire
from fire import helptext, trace

from ignite_fire.commands.bench import bench, bench_modes
from ignite_fire.commands.cv import cv
from ignite_fire.commands.demo_data import demo_data
from ignite_fire.commands.explain import explain
from ignite_fire.commands.export import export
from ignite_fire.commands.graph import graph
from ignite_fire.commands.lr_find import lr_find
from ignite_fire.commands.options import check_options, flag_names, option_names
from ignite_fire.commands.predict import predict
from ignite_fire.commands.pseudo_label import pseudo_label
from ignite_fire.commands.sweep import sweep
from ignite_fire.commands.sweep_status import sweep_status
from ignite_fire.commands.sync import sync
from ignite_fire.commands.train import train
from ignite_fire.errors import UserError, show_warning
from ignite_fire.files import DiskFullError, is_disk_full

PROGRAM = "ignite_fire"
HELP_FLAGS = ("--help", "-h")

COMMANDS: dict[str, Callable[..., None]] = {
    "train": train,
    "sweep": sweep,
    "sweep-status": sweep_status,
    "predict": predict,
    "graph": graph,
    "bench": bench,
    "sync": sync,
    "cv": cv,
    "pseudo-label": pseudo_label,
    "explain": explain,
    "export": export,
    "lr-find": lr_find,
    "demo-data": demo_data,
}


def summary(function: Callable[..., Any]) -> str:
    """The first line of ``function``'s docstring."""
    return (function.__doc__ or "").strip().splitlines()[0]


def usage() -> str:
    """``python -m ignite_fire --help``: every command with its one-line summary."""
    width = max(len(name) for name in COMMANDS)
    lines = [f"  {name:<{width}}  {summary(function)}" for name, function in COMMANDS.items()]
    return "\n".join(
        [
            f"usage: python -m {PROGRAM} COMMAND [ARGS] [--option=value ...]",
            f"       python -m {PROGRAM} EXPERIMENT.py [--key=value ...]   (the same as `train EXPERIMENT.py`)",
            "",
            "commands:",
            *lines,
            "",
            f"`python -m {PROGRAM} COMMAND --help` shows a command's options,",
            f"`python -m {PROGRAM} EXPERIMENT.py --help` the experiment's config keys.",
            "--debug shows the traceback of an error.",
        ]
    )


def function_help(function: Callable[..., Any], *command: str) -> str:
    """python-fire's help page of ``function`` as ``ignite_fire COMMAND...`` (without fire's "INFO:" line)."""
    fire_trace = trace.FireTrace({}, name=PROGRAM)
    for word in command:
        fire_trace.AddAccessedProperty(function, word, [word], None, None)
    return helptext.HelpText(function, trace=fire_trace)


def experiment_help(experiment: str, command: str = "train") -> str:
    """The config keys of ``experiment``: their defaults (as the experiment sets them), types and meaning."""
    from ignite_fire.config import describe_keys
    from ignite_fire.experiment import load_experiment

    loaded = load_experiment(experiment)
    shown = "[train]" if command == "train" else command
    return (
        f"usage: python -m {PROGRAM} {shown} {experiment} [--key=value ...]\n\n"
        + describe_keys(loaded.config, title=f"config keys of {loaded.name}")
    )


def command_help(name: str, args: list[str]) -> str:
    """``COMMAND [ARGS] --help``: the command's options, and the experiment's keys where it takes an experiment.

    ``train EXPERIMENT.py --help`` is the experiment's keys alone; ``bench MODE --help`` the mode's options.
    """
    positionals = [arg for arg in args if not arg.startswith("-")]
    if name == "bench" and positionals and positionals[0] in bench_modes():
        return function_help(bench_modes()[positionals[0]], "bench", positionals[0])
    takes_overrides = option_names(COMMANDS[name])[1]
    if not (takes_overrides and positionals and positionals[0].endswith(".py")):
        return function_help(COMMANDS[name], name)
    keys = experiment_help(positionals[0], name)
    return keys if name == "train" else f"{function_help(COMMANDS[name], name)}\n{keys}"


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout, force=True)
    # Ignite's engines log every epoch and every exception themselves; ours says it once.
    logging.getLogger("ignite").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", message=".*pin_memory.*")
    warnings.showwarning = show_warning  # (formatwarning is left alone: pytest and logging format with it)


def run(args: list[str]) -> None:
    """Print help, or check the options and run the command (``args[0]``) through python-fire."""
    if not args or args[0] in HELP_FLAGS:
        print(usage())
        return
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        raise UserError(f"unknown command or option {name}: run `python -m {PROGRAM} --help` for the commands")
    if any(arg in HELP_FLAGS for arg in rest):
        print(command_help(name, rest))
        return
    check_options(COMMANDS[name], flag_names(rest), name)
    fire.Fire(COMMANDS, command=args, name=PROGRAM, serialize=lambda _: None)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    if args and args[0] not in COMMANDS and not args[0].startswith("-"):
        args.insert(0, "train")
    _configure_logging()
    try:
        run(args)
    except UserError as error:
        if debug:
            raise
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
    except OSError as error:  # a picture or other file written without ignite_fire.files
        if debug or not is_disk_full(error):
            raise
        print(f"ignite_fire: error: {DiskFullError(error.filename or 'a file')}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"{PROGRAM}: interrupted", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:  # `... --help | head`: the reader left; Python's documented way to go quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
