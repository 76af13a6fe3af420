"""Train/test leakage: the test images that are copies or near copies of a labelled image.

For every test image, the labelled image with the nearest pHash (or the same file digest) is its
match when the distance is at most ``threshold``::

    leaks = find_leaks(test_infos, train_infos, threshold=8)  # nearest first
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ignite_fire.audit.hashing import ImageInfo, hamming, hash_array

BLOCK = 1024


@dataclass
class Leak:
    test: int  # position in the test images
    train: int  # position in the labelled images
    distance: int  # pHash bits that differ (0 for the same file)
    exact: bool  # the same file bytes


def find_leaks(test: Sequence[ImageInfo], train: Sequence[ImageInfo], threshold: int) -> list[Leak]:
    """One :class:`Leak` per test image within ``threshold`` of a labelled image, nearest first."""
    by_digest = {info.digest: k for k, info in enumerate(train) if info.digest}
    leaks: dict[int, Leak] = {}
    for k, info in enumerate(test):
        if info.digest in by_digest:
            leaks[k] = Leak(k, by_digest[info.digest], 0, True)
    train_hashes, train_positions = hash_array(train)
    test_hashes, test_positions = hash_array(test)
    if len(train_hashes) and len(test_hashes):
        for start in range(0, len(test_hashes), BLOCK):
            distances = hamming(test_hashes[start : start + BLOCK], train_hashes)
            nearest = distances.argmin(axis=1)
            for row, column in enumerate(nearest.tolist()):
                distance = int(distances[row, column])
                k = int(test_positions[start + row])
                if distance <= threshold and k not in leaks:
                    leaks[k] = Leak(k, int(train_positions[column]), distance, False)
    return sorted(leaks.values(), key=lambda leak: (leak.distance, test[leak.test].path))
