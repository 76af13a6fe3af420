"""Checks for the contract on user errors: one line on stderr, no traceback, nothing half-written."""

from __future__ import annotations

import subprocess
from pathlib import Path


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """``result`` (from ``run_cli``) failed with exit code 2 and a single ``ignite_fire: error:`` line holding
    every fragment; returns that line."""
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("ignite_fire: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
