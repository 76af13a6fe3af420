"""Shared fixtures: real image data built in temporary folders (plain helpers are in tests/helpers.py).

Core tests use scikit-learn's bundled digits (real scans, written as PNG files). Tests that use
``../shared/data`` skip with a reason when it is missing (it is there in CI).
"""

from __future__ import annotations

from pathlib import Path

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


@pytest.fixture(scope="session")
def tiny_cv(digits_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """A finished 2-fold cv of tests/tiny_experiment.py on the digits (see tests/cv_runs.py)."""
    from tests.cv_runs import run_tiny_cv

    return run_tiny_cv(digits_dir, tmp_path_factory.mktemp("cv"))
