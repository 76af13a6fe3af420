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

Each command is a library function, named in :data:`COMMANDS` by an import string; python-fire turns
its signature into flags and its docstring (``Args:``) into the help. Help pages and the option
check read the function from its source (:mod:`ignite_fire.commands.lazy`), so they answer without
importing torch; only the command that runs is imported. Option names are checked against the
signature first, so a mistyped one is one line with the closest valid option. Errors a user can fix
are one line on stderr and exit 2 (``--debug`` shows the traceback); warnings are one line each,
``ignite_fire: warning: ...``.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any

from ignite_fire import signals
from ignite_fire.commands.bench import BENCH_MODES
from ignite_fire.commands.lazy import load_command, read_command, summary
from ignite_fire.commands.options import check_options, flag_names, option_names
from ignite_fire.errors import UserError, show_warning
from ignite_fire.files import DiskFullError, is_disk_full

PROGRAM = "ignite_fire"
HELP_FLAGS = ("--help", "-h")

# Each command -> "module:function". Adding a command is one line here; the function's signature is its
# flags and its docstring its help (first line: the summary below). Nothing is imported until it runs.
COMMANDS: dict[str, str] = {
    "train": "ignite_fire.commands.train:train",
    "sweep": "ignite_fire.commands.sweep:sweep",
    "sweep-status": "ignite_fire.sweeps.runner:sweep_status",
    "predict": "ignite_fire.inference.predict:predict",
    "graph": "ignite_fire.commands.graph:graph",
    "bench": "ignite_fire.commands.bench:bench",
    "sync": "ignite_fire.sync:upload_run",
    "cv": "ignite_fire.competition.crossval:cross_validate",
    "pseudo-label": "ignite_fire.competition.pseudo_label:pseudo_label",
    "explain": "ignite_fire.inference.explain:explain",
    "export": "ignite_fire.inference.export:export",
    "lr-find": "ignite_fire.lr_find:run_lr_find",
    "audit": "ignite_fire.audit.run:audit",
    "demo-data": "ignite_fire.data.demo:demo_data",
}


def usage() -> str:
    """``python -m ignite_fire --help``: every command with its one-line summary."""
    width = max(len(name) for name in COMMANDS)
    lines = [f"  {name:<{width}}  {summary(target)}" for name, target in COMMANDS.items()]
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
    from fire import helptext, trace

    fire_trace = trace.FireTrace({}, name=PROGRAM)
    for word in command:
        fire_trace.AddAccessedProperty(function, word, [word], None, None)
    # fire reads docstrings through IPython when it is installed, which costs a second of imports; its
    # own reader gives the same page (as for everyone without IPython). None in sys.modules: not importable.
    blocked = "IPython" not in sys.modules
    if blocked:
        sys.modules["IPython"] = None  # type: ignore[assignment]  # the documented way to block an import
    try:
        return helptext.HelpText(function, trace=fire_trace)
    finally:
        if blocked:
            del sys.modules["IPython"]


def experiment_help(experiment: str, command: str = "train") -> str:
    """The config keys of ``experiment``: their defaults (as the experiment sets them), types and meaning."""
    from ignite_fire.config import describe_keys
    from ignite_fire.experiment import read_config

    name, config = read_config(experiment)  # without running the experiment when its config is a literal
    shown = "[train]" if command == "train" else command
    return f"usage: python -m {PROGRAM} {shown} {experiment} [--key=value ...]\n\n" + describe_keys(
        config, title=f"config keys of {name}"
    )


def command_help(name: str, args: list[str]) -> str:
    """``COMMAND [ARGS] --help``: the command's options, and the experiment's keys where it takes an experiment.

    ``train EXPERIMENT.py --help`` is the experiment's keys alone; ``bench MODE --help`` the mode's options.
    """
    positionals = [arg for arg in args if not arg.startswith("-")]
    if name == "bench" and positionals and positionals[0] in BENCH_MODES:
        return function_help(read_command(BENCH_MODES[positionals[0]]), "bench", positionals[0])
    command = read_command(COMMANDS[name])
    takes_overrides = option_names(command)[1]
    if not (takes_overrides and positionals and positionals[0].endswith(".py")):
        return function_help(command, name)
    keys = experiment_help(positionals[0], name)
    return keys if name == "train" else f"{function_help(command, name)}\n{keys}"


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
    check_options(read_command(COMMANDS[name]), flag_names(rest), name)
    import fire  # (fire imports asyncio, pipes, ...: not needed for help)

    fire.Fire({name: load_command(COMMANDS[name])}, command=args, name=PROGRAM, serialize=lambda _: None)


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    if args and args[0] not in COMMANDS and not args[0].startswith("-"):
        args.insert(0, "train")
    _configure_logging()
    try:
        run(args)
        sys.stdout.flush()  # a reader that left shows up here (BrokenPipeError below), not at interpreter exit
    except UserError as error:
        if debug:
            raise
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        sys.exit(error.exit_code)
    except BrokenPipeError:  # `... --help | head`: the reader left; Python's documented way to go quietly
        # (before OSError, which it is a kind of)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except OSError as error:  # a picture or other file written without ignite_fire.files
        if debug or not is_disk_full(error):
            raise
        print(f"ignite_fire: error: {DiskFullError(error.filename or 'a file')}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"{PROGRAM}: interrupted", file=sys.stderr)
        sys.exit(signals.INTERRUPTED_EXIT_CODE)
