"""File digests and perceptual hashes of images, computed in parallel over the cores.

Each image is read once for its SHA-256 (exact duplicates) and decoded once, as JPEG drafts at 1/2 to
1/8 scale (:func:`ignite_fire.data.images.load_image` with a small ``draft_size``, EXIF orientation
applied), for its 64-bit pHash (imagehash): a 1080p photo then costs a few milliseconds instead of ~20::

    infos = hash_images(paths)             # one ImageInfo per path, in order; unreadable ones have phash None
    distances = hamming(infos_hashes, hashes)
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from ignite_fire.errors import UserError

logger = logging.getLogger("ignite_fire")

HASH_SIZE = 8  # 8 x 8 DCT bits: a 64-bit hash, distances 0..64
DRAFT_SIZE = 64  # phash reads a 32 x 32 grey thumbnail: decoding more pixels than this is wasted
CHUNK = 16  # images per task sent to a worker process
PROGRESS_SECONDS = 5.0
INSTALL_HINT = "pip install 'ignite_fire[audit]'"


def require(module: str) -> None:
    """A one-line error naming the extra to install when ``module`` (imagehash, cleanlab) is missing."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise UserError(f"audit needs the {module} package: {INSTALL_HINT}")


@dataclass
class ImageInfo:
    """What the audit knows about one image file."""

    path: str
    digest: str  # SHA-256 of the file's bytes ("" when the file cannot be read)
    phash: int | None  # 64-bit perceptual hash; None when the image does not decode
    width: int  # pixels as stored (0 when unreadable)
    height: int
    format: str  # PIL's format name (JPEG, PNG, ...), "" when unreadable
    error: str | None  # why the image does not decode, else None


def file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def hash_one(path: str) -> ImageInfo:
    """The digest, size, format and pHash of ``path``; a file that does not decode gets ``error``."""
    import imagehash
    from PIL import Image

    from ignite_fire.data.images import BadImageError, load_image

    try:
        digest = file_digest(path)
    except OSError as error:
        return ImageInfo(path, "", None, 0, 0, "", f"cannot read {path}: {error.strerror or error}")
    try:
        with Image.open(path) as header:  # the stored size and format, before the draft shrinks it
            width, height, kind = header.width, header.height, str(header.format or "")
        image = load_image(path, DRAFT_SIZE)
        bits = imagehash.phash(image, hash_size=HASH_SIZE).hash.flatten()
    except (BadImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as error:
        return ImageInfo(path, digest, None, 0, 0, "", str(error))
    value = int("".join("1" if bit else "0" for bit in bits), 2)
    return ImageInfo(path, digest, value, width, height, kind, None)


def _hash_chunk(paths: list[str]) -> list[ImageInfo]:
    return [hash_one(path) for path in paths]


def default_workers() -> int:
    """The cores this process may run on (``os.sched_getaffinity``; a container's CPU set, not the host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def hash_images(paths: Sequence[str], workers: int | None = None, what: str = "images") -> list[ImageInfo]:
    """:func:`hash_one` of every path, in order, over ``workers`` processes, with a progress line every 5 s."""
    require("imagehash")
    workers = default_workers() if workers is None else max(1, workers)
    chunks = [list(paths[i : i + CHUNK]) for i in range(0, len(paths), CHUNK)]
    start = last = time.monotonic()
    infos: list[ImageInfo] = []
    if workers == 1 or len(chunks) <= 1:
        results: Iterator[list[ImageInfo]] = map(_hash_chunk, chunks)
        pool = None
    else:
        pool = ProcessPoolExecutor(max_workers=workers)
        results = pool.map(_hash_chunk, chunks)
    try:
        for chunk in results:
            infos += chunk
            now = time.monotonic()
            if now - last >= PROGRESS_SECONDS:
                last = now
                rate = len(infos) / (now - start)
                logger.info(f"audit: hashed {len(infos)}/{len(paths)} {what} ({rate:.0f}/s, {workers} processes)")
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    elapsed = time.monotonic() - start
    logger.info(f"audit: hashed {len(infos)} {what} in {elapsed:.1f} s ({workers} processes)")
    return infos


def hash_array(infos: Sequence[ImageInfo]) -> tuple[np.ndarray, np.ndarray]:
    """The pHashes of the decodable images as uint64, and their positions in ``infos``."""
    kept = [i for i, info in enumerate(infos) if info.phash is not None]
    values = np.array([infos[i].phash for i in kept], dtype=np.uint64)
    return values, np.array(kept, dtype=np.int64)


BYTE_BITS = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def hamming(rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """The (len(rows), len(columns)) Hamming distances between two uint64 hash arrays."""
    xor = rows[:, None] ^ columns[None, :]
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(xor).astype(np.int16)
    return BYTE_BITS[xor.view(np.uint8)].reshape(*xor.shape, 8).sum(axis=-1, dtype=np.int16)
