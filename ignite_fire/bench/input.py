"""``bench input``: the input pipeline alone on one core (one thread, no workers).

PIL decode + resize to ``image_size`` with and without JPEG draft mode; the training pipeline
(decode, random resized crop, flip, to tensor, normalise) with and without draft mode; and the
memory cache (building it, then an epoch from it).
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from ignite_fire.data.images import is_image_file
from ignite_fire.errors import UserError


def image_paths(data: str, limit: int | None = None) -> list[str]:
    root = Path(data).expanduser()
    if not root.is_dir():
        raise UserError(f"--data folder not found: {root}")
    paths = sorted(str(p) for p in root.rglob("*") if is_image_file(p))
    if not paths:
        raise UserError(f"no images under {root}: pass --data=A_FOLDER_OF_IMAGES")
    return paths[:limit] if limit else paths


def _resize_shorter(path: str, size: int, how: str) -> None:
    """Decode ``path`` (``how``: imagefolder, plain or draft) and resize its shorter side to ``size`` with PIL."""
    import torchvision.transforms.functional as F
    from PIL import Image

    from ignite_fire.data.images import load_image

    if how == "imagefolder":  # torchvision's default loader: no EXIF orientation
        with open(path, "rb") as file:
            image = Image.open(file).convert("RGB")
    else:
        image = load_image(path, size if how == "draft" else None)
    F.resize(image, size, antialias=True)


def _time_epoch(loader: Any) -> float:
    start = time.perf_counter()
    for _ in loader:
        pass
    return time.perf_counter() - start


def time_decode_resize(paths: list[str], image_size: int, repeats: int) -> dict[str, float]:
    """img/s of decode + resize of the shorter side: torchvision's ImageFolder loader, plain PIL and draft."""
    times: dict[str, list[float]] = {"imagefolder": [], "plain": [], "draft": []}
    for _ in range(repeats):  # interleaved, so a slow moment of the machine hits all three
        for name in times:
            start = time.perf_counter()
            for path in paths:
                _resize_shorter(path, image_size, name)
            times[name].append(time.perf_counter() - start)
    rates = {name: len(paths) / statistics.median(seconds) for name, seconds in times.items()}
    folder, plain, draft = rates["imagefolder"], rates["plain"], rates["draft"]
    print(
        f"decode + resize to {image_size} px:  ImageFolder loader {folder:.0f} img/s   plain PIL (EXIF) {plain:.0f} "
        f"img/s   draft {draft:.0f} img/s   ({draft / plain:.2f}x plain, {draft / folder:.2f}x ImageFolder)"
    )
    return {**rates, "ratio": draft / plain}


def time_train_pipeline(paths: list[str], image_size: int, batch_size: int, repeats: int) -> dict[str, Any]:
    """img/s of the training pipeline through a DataLoader: plain, draft, and the memory cache (built first)."""
    from torch.utils.data import DataLoader

    from ignite_fire.config import DEFAULTS
    from ignite_fire.data.cache import CachedImages, decode_all, keep_batch
    from ignite_fire.data.datasets import ImageListDataset
    from ignite_fire.data.decode import resize_size
    from ignite_fire.data.transforms import build_transforms

    n = len(paths)
    train_tf, _ = build_transforms({**DEFAULTS, "image_size": image_size})
    samples = [(path, 0) for path in paths]
    start = time.perf_counter()  # the cache's epoch 1 decodes (one thread here); later ones gather and augment
    store = decode_all(paths, resize_size(image_size), image_size, draft=True, threads=1)
    build = time.perf_counter() - start
    datasets: dict[str, Any] = {  # an ImageListDataset and a CachedImages
        "plain": ImageListDataset(samples, ["all"], train_tf, None),
        "draft": ImageListDataset(samples, ["all"], train_tf, resize_size(image_size)),
        "cache": CachedImages(store, [0] * n, samples, ["all"], image_size, train=True),
    }
    loaders = {
        name: DataLoader(dataset, batch_size, shuffle=True, collate_fn=keep_batch if name == "cache" else None)
        for name, dataset in datasets.items()
    }
    times: dict[str, list[float]] = {name: [] for name in loaders}
    for _ in range(repeats):
        for name, loader in loaders.items():
            times[name].append(_time_epoch(loader))
    plain, draft, later = (n / statistics.median(times[name]) for name in ("plain", "draft", "cache"))
    print(
        f"training pipeline (decode, random resized crop, flip, normalise):  plain {plain:.0f} img/s   "
        f"draft {draft:.0f} img/s   ({draft / plain:.2f}x)"
    )
    first = n / (build + times["cache"][0])
    print(
        f"memory cache: building {n / build:.0f} img/s ({build:.1f} s, 1 thread; in a run: all cores), "
        f"first epoch {first:.0f} img/s, later epochs {later:.0f} img/s = "
        f"{later / plain:.1f}x plain decoding, {later / draft:.1f}x draft decoding"
    )
    cache = {"build_img_per_s": n / build, "first_epoch": first, "later_epochs": later}
    cache.update(vs_plain=later / plain, vs_draft=later / draft)
    return {"train_pipeline": {"plain": plain, "draft": draft, "ratio": draft / plain}, "cache": cache}


def input_pipeline(
    data: str = "data/demo/folder",  # python -m ignite_fire demo-data writes it; photos show the draft gain
    image_size: int = 224,
    batch_size: int = 32,
    repeats: int = 3,
    limit: int | None = None,
    json_out: str | None = None,
) -> dict[str, Any]:
    """Per-core img/s of decode+resize (plain vs draft), of the training pipeline (plain vs draft) and of the cache."""
    torch.set_num_threads(1)
    paths = image_paths(data, limit)
    print(f"bench input: {len(paths)} images under {data}, {image_size} px, 1 core (1 thread, no workers)", flush=True)
    results: dict[str, Any] = {"data": data, "images": len(paths), "image_size": image_size}
    results["decode_resize"] = time_decode_resize(paths, image_size, repeats)
    results.update(time_train_pipeline(paths, image_size, batch_size, repeats))
    if json_out:
        Path(json_out).write_text(json.dumps(results, indent=2))
    return results
