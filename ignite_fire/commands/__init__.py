"""The command-line commands, one module each, registered in :data:`ignite_fire.cli.COMMANDS`.

A command is a plain function: a typed signature (its flags), a docstring whose first line is
its one-line summary in ``python -m ignite_fire --help``, and no return value. It imports the
library code it drives (training, sweeps, predict, ...) when it runs, so ``--help`` stays quick.
Adding a command: a new module here, plus one line in ``COMMANDS``.
"""
