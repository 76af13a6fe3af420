"""Upload a run's offline W&B runs: ``python -m ignite_fire sync RUN_DIR [--dry_run]``.

A resumed run leaves one ``wandb/offline-run-{start}-{id}`` folder per start of training, all with
the run's id, and their steps do not overlap (every value is logged at the trainer's iteration).
W&B cannot resume an offline run (wandb#2423), and syncing the folders one by one as separate
runs makes the later one replace the earlier (wandb#3841, #5865). So they are uploaded in order of
start time into the one run:

* wandb >= 0.30: one ``wandb sync FOLDER1 FOLDER2 ...``; its sync uploads the files of one run id
  one after the other, in order of start time;
* older wandb: ``wandb sync FOLDER1``, then ``wandb sync --id ID --append FOLDERn`` for each later
  folder (``--append``, wandb PR #4848, adds steps to the existing run).

``--dry_run`` prints the commands instead of running them. Uploading needs ``wandb login`` and a
reachable W&B server.
"""

from __future__ import annotations

import importlib.metadata
import logging
import netrc
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from ignite_fire.errors import UserError

logger = logging.getLogger("ignite_fire")

FOLDER = re.compile(r"^offline-run-(\d{8}_\d{6})-([A-Za-z0-9]+)$")
APPEND_REMOVED_IN = (0, 30)  # wandb 0.30 replaced the Python sync (and its --append) by one that orders files itself


@dataclass(frozen=True)
class OfflineRun:
    """One ``offline-run-{start}-{id}`` folder."""

    path: Path
    start: str  # YYYYMMDD_HHMMSS, from the folder name (W&B names it when the run starts)
    run_id: str


def offline_runs(run_dir: Path) -> list[OfflineRun]:
    """The run's offline W&B folders, in order of start time."""
    found = []
    for path in (run_dir / "wandb").glob("offline-run-*"):
        match = FOLDER.match(path.name)
        if match and path.is_dir():
            wandb_files = sorted(path.glob("*.wandb"))
            modified = wandb_files[0].stat().st_mtime if wandb_files else 0.0
            found.append((match.group(1), modified, OfflineRun(path, match.group(1), match.group(2))))
    return [run for *_, run in sorted(found, key=lambda item: (item[0], item[1]))]


def wandb_appends() -> bool:
    """Whether the installed ``wandb sync`` has ``--append`` (the Python sync of wandb < 0.30)."""
    version = importlib.metadata.version("wandb")
    numbers = tuple(int(part) for part in re.findall(r"\d+", version)[:2])
    return numbers < APPEND_REMOVED_IN


def sync_commands(runs: list[OfflineRun], append: bool) -> list[list[str]]:
    """The ``wandb sync`` commands that upload ``runs`` (in order) into one W&B run per id."""
    commands: list[list[str]] = []
    by_id: dict[str, list[OfflineRun]] = {}
    for run in runs:
        by_id.setdefault(run.run_id, []).append(run)
    for run_id, parts in by_id.items():
        if not append:
            commands.append(["wandb", "sync", *(str(p.path) for p in parts)])
            continue
        commands.append(["wandb", "sync", str(parts[0].path)])
        commands += [["wandb", "sync", "--id", run_id, "--append", str(p.path)] for p in parts[1:]]
    return commands


def wandb_credentials_found() -> bool:
    """Whether ``wandb sync`` will find credentials: WANDB_API_KEY (or an identity token file), or the
    netrc entry ``wandb login`` writes for the host of WANDB_BASE_URL."""
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL") or "https://api.wandb.ai").hostname
    path = Path(os.environ.get("NETRC") or Path.home() / ".netrc")
    try:
        return netrc.netrc(str(path)).authenticators(host or "") is not None
    except (OSError, netrc.NetrcParseError):
        return False


def upload_run(run_dir: str, dry_run: bool = False) -> None:
    """Upload RUN_DIR's offline W&B runs into one W&B run, in order (resumed runs included).

    --dry_run prints the wandb commands instead of running them.
    """
    path = Path(run_dir).expanduser()
    if not path.is_dir():
        raise UserError(f"run directory not found: {path}")
    runs = offline_runs(path)
    if not runs:
        raise UserError(
            f"no offline W&B runs in {path / 'wandb'} (trained with --wandb_mode=disabled, online, "
            "or --loggers without wandb?)"
        )
    commands = sync_commands(runs, wandb_appends())
    if dry_run:
        for command in commands:
            print(shlex.join(command))
        return
    if not wandb_credentials_found():  # else wandb sync fails in several lines of its own
        raise UserError("no W&B API key: run `wandb login` (or set WANDB_API_KEY), then sync again")
    executable = shutil.which("wandb")
    for command in commands:
        logger.info(shlex.join(command))
        argv = [executable, *command[1:]] if executable else [sys.executable, "-m", "wandb", *command[1:]]
        completed = subprocess.run(argv, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        said = [line.strip() for line in completed.stdout.splitlines() if line.strip()]
        if completed.returncode != 0:
            last = f": {said[-1]}" if said else ""
            raise UserError(
                f"`{shlex.join(command)}` failed (exit {completed.returncode}{last}); run `wandb login` and check "
                "the W&B server is reachable, then sync again"
            )
        for line in said:
            logger.info(line)
    logger.info(f"ran {len(commands)} wandb sync command(s) for the {len(runs)} offline W&B folder(s) of {path}")
