"""The ``audit`` command: :func:`ignite_fire.audit.run.audit` from the command line."""

from __future__ import annotations


def audit(
    data_dir: str,
    test: str | None = None,
    cv: str | None = None,
    output: str | None = None,
    threshold: int = 8,
    image_size: int = 224,
    folds: int = 5,
    seed: int = 42,
    label_file: str | None = None,
    classes: list[str] | None = None,
    write_excluded: str | None = None,
    workers: int | None = None,
) -> None:
    """Audit DATA_DIR: near-duplicate groups (groups.txt for cv --groups), conflicts, leaks, label issues, audit.html.

    Args:
        data_dir: the labelled images, in any layout training reads (class folders, train.txt, train.csv).
        test: a folder of test images: those that nearly duplicate a labelled image are leaks (leaks.csv).
        cv: a cv directory: its oof.csv ranks the likely wrong labels (label_issues.csv, cleanlab).
        output: the folder written (default: {data_dir}-audit beside the data; never inside the data).
        threshold: pHash bits (of 64) that may differ between two images of one group.
        image_size: the training image size: smaller images are counted.
        folds: the folds of the cv whose straddling groups are counted.
        seed: the seed of that cv.
        label_file: as the training key: a label file other than data_dir/train.txt or train.csv.
        classes: as the training key: the class list (default: from the data).
        write_excluded: write the flagged file names (conflict groups, label issues) here, for --exclude.
        workers: hashing processes (default: the cores this process may use).
    """
    from ignite_fire.audit.run import audit as run_audit

    run_audit(
        data_dir,
        test=test,
        cv=cv,
        output=output,
        threshold=threshold,
        image_size=image_size,
        folds=folds,
        seed=seed,
        label_file=label_file,
        classes=classes,
        write_excluded=write_excluded,
        workers=workers,
    )
