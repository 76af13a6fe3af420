"""The ``sweep-status`` command: the table of a sweep's trials."""

from __future__ import annotations


def sweep_status(sweep_dir: str, storage: str | None = None) -> None:
    """Print the table of trials of the sweep in SWEEP_DIR and rewrite its trials.csv and trials.png.

    --storage=URL reads the study from that storage (the sweep's name is SWEEP_DIR's last part).
    """
    from ignite_fire.sweeps.runner import sweep_status as status

    status(sweep_dir, storage=storage)
