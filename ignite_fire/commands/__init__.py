"""What the command line needs beside the library functions it runs (:data:`ignite_fire.cli.COMMANDS`).

Most commands are library functions named in ``COMMANDS`` by an import string ("module:function"):
their signature is the flags, their docstring the help. A module here is a command only where the
command line adds something of its own: ``train`` (the launch and the closing lines), ``sweep`` (the
backend), ``graph`` and ``bench`` (the mode). :mod:`~ignite_fire.commands.lazy` reads a command
without importing it (help stays quick, without torch); :mod:`~ignite_fire.commands.options` checks
option names. Adding a command: one line in ``COMMANDS``.
"""
