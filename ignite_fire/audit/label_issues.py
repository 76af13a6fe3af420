"""Likely wrong labels, ranked, from a cv directory's out-of-fold probabilities (``oof.csv``).

The method is cleanlab's confident learning: :func:`cleanlab.filter.find_label_issues` with
``filter_by="prune_by_noise_rate"`` (cleanlab's default). It estimates the joint distribution of given
and true labels from the OOF probabilities and per-class thresholds (the confident joint), then flags,
for each pair of classes, as many images as that joint says are mislabelled, the least confident first.
The flagged images are ranked by their label quality, the OOF probability of the given label
(``self_confidence``): the lower, the likelier the label is wrong. The suggested label is the OOF argmax.
Each probability comes from the fold that held the image out, so an image never vouches for its own label::

    issues = find_label_issues_in(read_oof(cv_dir / "oof.csv"))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ignite_fire.audit.hashing import require
from ignite_fire.competition.oof import OOF, read_oof
from ignite_fire.cv_dir import OOF_FILE
from ignite_fire.errors import UserError

METHOD = "cleanlab.filter.find_label_issues(filter_by='prune_by_noise_rate'), ranked by self_confidence"


@dataclass
class LabelIssue:
    file: str  # as oof.csv names it
    given: str
    suggested: str  # the OOF argmax
    score: float  # label quality: the OOF probability of the given label (low = likely wrong)
    suggested_probability: float
    fold: int


def read_cv_oof(cv_dir: str | Path) -> OOF:
    """``{cv_dir}/oof.csv``; a one-line error when the cv has not written it yet."""
    path = Path(cv_dir).expanduser() / OOF_FILE
    if not path.is_file():
        raise UserError(f"--cv={cv_dir} has no {OOF_FILE}: pass a cv directory whose folds are all finished")
    return read_oof(path)


def find_label_issues_in(oof: OOF) -> list[LabelIssue]:
    """The images cleanlab flags (see the module docstring), likeliest wrong first."""
    require("cleanlab")
    from cleanlab.filter import find_label_issues

    labels = oof.labels.numpy()
    probabilities = oof.probabilities.double().numpy()
    probabilities = probabilities / probabilities.sum(axis=1, keepdims=True)  # oof.csv rounds to 6 decimals
    missing = [oof.classes[c] for c in range(len(oof.classes)) if not (labels == c).any()]
    if missing:
        raise UserError(f"oof.csv has no image of class {missing[0]!r}: label issues need every class in the OOF")
    ranked = find_label_issues(
        labels,
        probabilities,
        filter_by="prune_by_noise_rate",
        return_indices_ranked_by="self_confidence",
        n_jobs=1,  # cleanlab's multiprocessing is slower than one core for a few thousand images
    )
    issues = []
    for i in np.asarray(ranked).tolist():
        suggested = int(probabilities[i].argmax())
        issues.append(
            LabelIssue(
                file=oof.files[i],
                given=oof.classes[int(labels[i])],
                suggested=oof.classes[suggested],
                score=float(probabilities[i, labels[i]]),
                suggested_probability=float(probabilities[i, suggested]),
                fold=int(oof.folds[i]),
            )
        )
    return issues
