"""``--extra_train=FILE``: labelled images (pseudo-labels, say) that only ever go to training.

FILE is a Tianchi-style label file (``file_name<TAB>class``), names relative to its own folder or
the folder named like it (as for train.txt). These images are added to the training set of every
run and fold after the split, so they are never in a validation fold or the out-of-fold predictions;
an extra image that is also a labelled image is left out (it would leak into some fold's validation).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from ignite_fire.data.sources import read_label_file
from ignite_fire.errors import UserError

logger = logging.getLogger("ignite_fire")

Sample = tuple[str, int]


def extra_train_samples(given: str | None, classes: Sequence[str], labelled: Sequence[Sample]) -> list[Sample]:
    """The samples of the label file ``given`` (``--extra_train``; none when unset), less those in ``labelled``."""
    if not given:
        return []
    path = Path(given).expanduser()
    if not path.is_file():
        raise UserError(f"--extra_train file not found: {path} (a file_name<TAB>class label file)")
    index = {name: i for i, name in enumerate(classes)}
    known = {str(Path(p).resolve()) for p, _ in labelled}
    extra = [(p, index[name]) for p, name in read_label_file(path, classes)]
    kept = [sample for sample in extra if str(Path(sample[0]).resolve()) not in known]
    dropped = len(extra) - len(kept)
    note = f" ({dropped} left out: they are labelled images too)" if dropped else ""
    logger.info(f"extra_train: {len(kept)} images from {path} added to training only{note}")
    return kept
