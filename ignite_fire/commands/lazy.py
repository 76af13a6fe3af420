"""Commands named by import strings (``"ignite_fire.inference.predict:predict"``), read without importing them.

The library function is the command: its signature gives the flags and its docstring the help
(first line: the summary in ``python -m ignite_fire --help``; ``Args:``: the options in
``COMMAND --help``). Most of those modules import torch at the top, which costs seconds, so the
help pages and the option check do not import them: :func:`read_command` parses the module's
source with :mod:`ast` and returns a stand-in with the same signature and docstring and no body.
Only :func:`load_command`, for the command that runs, imports the module.

Defaults are read as literals; a name (``tta_scales=DEFAULT_SCALES``) is looked up as a literal
assignment in the module, or in the module it is imported from; anything else is shown as its
source text (the stand-in is never called, so the value only appears in the help).
"""

from __future__ import annotations
import __future__

import ast
import copy
import importlib
import importlib.util
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any


class SourceText(str):
    """A default that is not a literal, shown in the help as it is written in the source."""

    def __repr__(self) -> str:
        return str(self)


def split_target(target: str) -> tuple[str, str]:
    """``"package.module:function"`` -> ``("package.module", "function")``."""
    module, _, name = target.partition(":")
    return module, name


@cache
def _module_tree(module: str) -> tuple[ast.Module, Path]:
    spec = importlib.util.find_spec(module)  # imports the parent packages only (their __init__ imports nothing)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"no module {module}")
    path = Path(spec.origin)
    return ast.parse(path.read_text(encoding="utf-8"), str(path)), path


def _literal_assignment(tree: ast.Module, name: str) -> Any:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            if node.value is not None:
                return ast.literal_eval(node.value)
    raise ValueError(name)


def _default(node: ast.expr, tree: ast.Module, module: str) -> Any:
    """The value of a default: a literal, or a name bound to a literal here or in the module it comes from."""
    try:
        return ast.literal_eval(node)
    except ValueError:
        pass
    if isinstance(node, ast.Name):
        try:
            return _literal_assignment(tree, node.id)
        except ValueError:
            pass
        for statement in tree.body:
            if isinstance(statement, ast.ImportFrom) and statement.module and statement.level == 0:
                if any((alias.asname or alias.name) == node.id for alias in statement.names):
                    try:
                        return _literal_assignment(_module_tree(statement.module)[0], node.id)
                    except (ValueError, ModuleNotFoundError):
                        break
    return SourceText(ast.unparse(node))


@cache
def read_command(target: str) -> Callable[..., None]:
    """A stand-in for the function ``target`` names: its signature and docstring, from its source, not imported."""
    module, name = split_target(target)
    tree, path = _module_tree(module)
    found = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
    if not found:
        raise AttributeError(f"{module} has no function {name}")
    function = found[0]
    doc = ast.get_docstring(function, clean=False)
    values: dict[str, Any] = {}

    def placeholder(node: ast.expr) -> ast.expr:
        key = f"_default_{len(values)}"
        values[key] = _default(node, tree, module)
        return ast.Name(key, ast.Load())

    stand_in = copy.deepcopy(function)  # the parsed tree is cached: edit a copy
    arguments = stand_in.args
    arguments.kw_defaults = [None if d is None else placeholder(d) for d in arguments.kw_defaults]
    arguments.defaults = [placeholder(d) for d in arguments.defaults]
    stand_in.body = [ast.Expr(ast.Constant(doc)) if doc is not None else ast.Pass()]
    stand_in.decorator_list = []
    stand_in.returns = None
    code = ast.Module(body=[stand_in], type_ignores=[])
    ast.fix_missing_locations(code)
    # Annotations stay strings (as under `from __future__ import annotations` in the module itself).
    flags = __future__.annotations.compiler_flag
    namespace: dict[str, Any] = dict(values)
    exec(compile(code, str(path), "exec", flags=flags, dont_inherit=True), namespace)  # our own def, body removed
    result: Callable[..., None] = namespace[name]
    result.__module__ = module
    return result


def load_command(target: str) -> Callable[..., Any]:
    """The function ``target`` names, imported (what runs)."""
    module, name = split_target(target)
    return getattr(importlib.import_module(module), name)


def summary(target: str) -> str:
    """The first line of the docstring of the function ``target`` names."""
    return (read_command(target).__doc__ or "").strip().splitlines()[0]
