"""Exact and near-duplicate groups of the labelled images, and ``groups.txt`` for ``cv --groups``.

Two images are linked when their files have the same SHA-256 or their pHashes differ in at most
``threshold`` of 64 bits; a group is a connected set of links (union-find), so A~B and B~C put A, B
and C in one group even when A and C are further apart. Images without a duplicate are groups of one::

    groups = duplicate_groups(infos, threshold=8)  # largest first
    write_groups_file("audit/groups.txt", infos, groups)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ignite_fire.audit.hashing import ImageInfo, hamming, hash_array
from ignite_fire.files import write_text_atomic

BLOCK = 1024  # rows of the distance matrix computed at once (1024 x N int16)


class UnionFind:
    """Disjoint sets over 0..n-1 (path halving, union by size)."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        a, b = self.find(a), self.find(b)
        if a == b:
            return
        if self.size[a] < self.size[b]:
            a, b = b, a
        self.parent[b] = a
        self.size[a] += self.size[b]

    def sets(self) -> list[list[int]]:
        found: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            found.setdefault(self.find(i), []).append(i)
        return list(found.values())


def near_pairs(hashes: np.ndarray, threshold: int) -> Iterator[tuple[int, int, int]]:
    """``(i, j, distance)`` for every i < j whose hashes differ in at most ``threshold`` bits."""
    for start in range(0, len(hashes), BLOCK):
        distances = hamming(hashes[start : start + BLOCK], hashes)
        rows, columns = np.nonzero(distances <= threshold)
        for row, column in zip(rows.tolist(), columns.tolist(), strict=True):
            i = start + row
            if i < column:
                yield i, column, int(distances[row, column])


@dataclass
class Group:
    """A set of images (positions in the audited list) that are copies or near copies of each other."""

    name: str
    members: list[int]  # sorted by path
    exact: bool  # every member has the same file digest

    @property
    def size(self) -> int:
        return len(self.members)


def duplicate_groups(infos: Sequence[ImageInfo], threshold: int) -> list[Group]:
    """Every image in one group: the groups with duplicates first (largest first), then the images alone."""
    links = UnionFind(len(infos))
    first_with_digest: dict[str, int] = {}
    for i, info in enumerate(infos):
        if info.digest:
            links.union(first_with_digest.setdefault(info.digest, i), i)
    hashes, positions = hash_array(infos)
    for i, j, _ in near_pairs(hashes, threshold):
        links.union(int(positions[i]), int(positions[j]))
    sets = [sorted(members, key=lambda k: infos[k].path) for members in links.sets()]
    sets.sort(key=lambda members: (-len(members), infos[members[0]].path))
    return [
        Group(f"g{number:05d}", members, len({infos[k].digest for k in members}) == 1 and len(members) > 1)
        for number, members in enumerate(sets, start=1)
    ]


def distance_to(infos: Sequence[ImageInfo], a: int, b: int) -> int | None:
    """The pHash distance between images ``a`` and ``b`` (None when one does not decode)."""
    first, second = infos[a].phash, infos[b].phash
    if first is None or second is None:
        return None
    return (first ^ second).bit_count()


def groups_by_file_name(infos: Sequence[ImageInfo], groups: Sequence[Group]) -> dict[str, str]:
    """``{file name: group}`` as ``cv --groups`` matches them (on the last path component).

    Images in different folders with the same file name cannot be told apart there, so they share
    the group of the first one.
    """
    by_name: dict[str, str] = {}
    for group in groups:
        for k in group.members:
            by_name.setdefault(Path(infos[k].path).name, group.name)
    return by_name


def write_groups_file(path: str | Path, infos: Sequence[ImageInfo], groups: Sequence[Group]) -> dict[str, str]:
    """``file_name<TAB>group`` lines (UTF-8), the format :func:`ignite_fire.data.groups.read_groups` reads."""
    by_name = groups_by_file_name(infos, groups)
    write_text_atomic(path, "".join(f"{name}\t{group}\n" for name, group in sorted(by_name.items())))
    return by_name
