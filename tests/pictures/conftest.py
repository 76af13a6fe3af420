from __future__ import annotations

import pytest

from ignite_fire import warn


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """warn_once forgets what it has shown, so a test sees its own warnings."""
    monkeypatch.setattr(warn, "_warned_once", set())
