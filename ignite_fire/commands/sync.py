"""The ``sync`` command: upload a run's offline W&B runs, resumes included, into one W&B run."""

from __future__ import annotations


def sync(run_dir: str, dry_run: bool = False) -> None:
    """Upload RUN_DIR's offline W&B runs into one W&B run, in order (resumed runs included).

    --dry_run prints the wandb commands instead of running them.
    """
    from ignite_fire.sync import upload_run

    upload_run(run_dir, dry_run)
