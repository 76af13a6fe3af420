"""Shared fixtures: real image data built in temporary folders (plain helpers are in tests/helpers.py).

Core tests use scikit-learn's bundled digits (real scans, written as PNG files). Tests that use
``../shared/data`` skip with a reason when it is missing (it is there in CI).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import SHARED_DATA


@pytest.fixture(scope="session")
def digits_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real ImageFolder (train/ and val/, 10 classes, 40 digits per class, 16 px)."""
    from ignite_fire.data.digits import write_digits

    return write_digits(tmp_path_factory.mktemp("digits"), size=16, per_class=40)


@pytest.fixture(scope="session")
def houses4() -> Path:
    path = SHARED_DATA / "houses4"
    if not (path / "train").is_dir():
        pytest.skip(f"{path} is missing (the shared test photos live beside the repository in CI)")
    return path


@pytest.fixture(scope="session")
def houses4_original() -> Path:
    path = SHARED_DATA / "houses4_original" / "val"
    if not path.is_dir():
        pytest.skip(f"{path} is missing (the shared test photos live beside the repository in CI)")
    return path


@pytest.fixture
def restore_threads() -> Iterator[None]:
    """torch's intra-op thread count as it was before the test (tests that set or tune it)."""
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_cv(digits_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """A finished 2-fold cv of tests/tiny_experiment.py on the digits (see tests/cv_runs.py)."""
    from tests.cv_runs import run_tiny_cv

    return run_tiny_cv(digits_dir, tmp_path_factory.mktemp("cv"))


# --- The fast tier stays fast: a test that starts a process must be marked slow -------------------------------------


# Graphviz draws the tests' tiny model graphs in milliseconds, where it is installed; fontconfig's
# fc-list answers matplotlib's font-list rebuild (pictures/fonts.py) as fast, and ldconfig -p answers
# ctypes.util.find_library (a library's first import): not worth the slow tier.
QUICK_PROGRAMS = {"dot", "fc-list", "ldconfig"}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    with _refuse_processes_unless_slow(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    with _refuse_processes_unless_slow(item):
        return (yield)


@contextmanager
def _refuse_processes_unless_slow(item: pytest.Item) -> Iterator[None]:
    """``pytest -m "not slow"`` is the developers' quick check: a test (or a fixture it needs) that starts a
    process there fails at once with the fix, instead of slowing the fast tier down unnoticed."""
    if item.get_closest_marker("slow") is not None:
        yield
        return
    original = subprocess.Popen.__init__

    def refuse(self: subprocess.Popen, args: Any, *rest: Any, **options: Any) -> None:
        program = Path(str(args[0] if isinstance(args, (list, tuple)) else args).split()[0]).name
        if program in QUICK_PROGRAMS:
            return original(self, args, *rest, **options)
        # pytest.fail raises a BaseException: no `except Exception` in the code under test can swallow it.
        pytest.fail(f"{item.nodeid} starts a process ({args!r:.80}): mark it @pytest.mark.slow")

    subprocess.Popen.__init__ = refuse  # type: ignore[method-assign]
    try:
        yield
    finally:
        subprocess.Popen.__init__ = original  # type: ignore[method-assign]
