"""The ``pseudo-label`` command: a Tianchi-layout label file of a cv ensemble's confident test predictions."""

from __future__ import annotations


def pseudo_label(
    cv_dir: str,
    input: str | None = None,  # noqa: A002  (the command-line flag --input)
    list: str | None = None,  # noqa: A002  (the command-line flag --list)
    threshold: float = 0.9,
    output: str = "pseudo.txt",
    tta: str | None = None,
    decision: str | None = "auto",
    device: str = "auto",
    num_workers: int = 0,
    experiment: str | None = None,
) -> None:
    """Write OUTPUT with the images of --input whose cv-ensemble probability reaches --threshold.

    Train on them with --extra_train=OUTPUT: they only ever go to training, never to validation or the OOF.
    --experiment=FILE: the cv's experiment, when it defines its own build_model or build_transforms.
    """
    from ignite_fire.competition.pseudo_label import pseudo_label as write_pseudo_labels

    write_pseudo_labels(cv_dir, input, list, threshold, output, tta, decision, device, num_workers, experiment)
