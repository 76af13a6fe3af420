"""The test tiers: outside the slow tier a test cannot start a process (tests/conftest.py); inside it, it can."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_a_test_outside_the_slow_tier_that_starts_a_process_fails_with_the_fix() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"test_tiers.py::.* starts a process .*mark it @pytest.mark.slow"):
        subprocess.run([sys.executable, "-c", "pass"], check=True)


@pytest.mark.slow
def test_a_slow_test_starts_processes() -> None:
    assert subprocess.run([sys.executable, "-c", "print(6 * 7)"], capture_output=True, text=True).stdout == "42\n"
