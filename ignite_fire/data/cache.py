"""``cache="memory"``: decode and resize every image once, keep the pixels, augment whole batches.

A competition set of a few thousand photos fits in memory once decoded and resized: at
``image_size=224`` one image is a 256 x 256 x 3 uint8 square (192 KiB), 5,000 images ~ 1 GB. With
``cache="memory"`` the run decodes every training and validation image once, in parallel
(threads; PIL releases the GIL while decoding and resizing; in distributed runs each process
decodes its share and the shares are gathered), and later epochs do no JPEG decoding at all:

* each image is decoded (JPEG draft mode when ``jpeg_draft``), its shorter side resized to
  ``round(image_size / EVAL_CROP)`` (:mod:`ignite_fire.data.crop`) and a square of that side cut around the centre;
* the store is one uint8 tensor (N, S, S, 3). On a GPU it lives in GPU memory when it takes less
  than a fifth of it (batches are then gathered and augmented on the GPU, in the main process);
  otherwise in host memory, read by the DataLoader workers (shared with them, copy-on-write);
* training batches get a per-sample random resized crop (area 35-100% of the square, aspect
  3/4-4/3) with horizontal flip (on a GPU one ``grid_sample`` call per batch; on a CPU one
  vectorised uint8 resize per image, giving channels_last batches), then the colour jitter of
  ``color_jitter`` and the ImageNet normalisation; the ``augment`` policy (before the jitter) and
  ``random_erasing`` (after the normalisation) run image by image (:mod:`ignite_fire.data.augment`).
  The random numbers of a batch depend only on ``seed`` and the batch's sample indices, so a
  resumed run sees the same augmentation;
* validation batches are the centre ``image_size`` crop: pixel for pixel what the default
  evaluation transform gives.

The crop is taken from the central square, so the edges of very wide or tall photos are never
seen in training (the default transforms crop anywhere in the photo). Experiments with their
own ``build_transforms`` cannot use the cache (it applies its own augmentation).

Example::

    python -m ignite_fire experiments/resnet18_baseline.py --cache=memory
"""

from __future__ import annotations

import logging
import math
import os
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import ignite.distributed as idist
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ignite_fire.choices import resize_size
from ignite_fire.config import RunConfig
from ignite_fire.data.augment import apply_per_image, policies_of
from ignite_fire.data.datasets import DataSplits, LabelledSamples
from ignite_fire.data.decode import centered_offset, decode_square
from ignite_fire.data.loaders import default_num_workers
from ignite_fire.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from ignite_fire.errors import UserError

logger = logging.getLogger("ignite_fire")

GPU_FRACTION = 0.2  # the store goes on the GPU when it takes at most this fraction of the GPU's memory
GATHER_CHUNK = 256  # images per all_gather call when processes share their decoded images


def keep_batch(batch: Any) -> Any:
    """The DataLoader ``collate_fn`` of cached datasets: their ``__getitems__`` returns the batch itself."""
    return batch


def decode_all(paths: Sequence[str], side: int, crop_size: int, draft: bool = True, threads: int = 1) -> torch.Tensor:
    """Decode ``paths`` with :func:`~ignite_fire.data.decode.decode_square` in ``threads`` threads.

    Returns:
        (N, S, S, 3) uint8 on the CPU.
    """
    store = torch.empty((len(paths), side, side, 3), dtype=torch.uint8)

    def fill(index: int) -> None:
        store[index].numpy()[...] = decode_square(paths[index], side, crop_size, draft)

    if threads <= 1:
        for index in range(len(paths)):
            fill(index)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(fill, range(len(paths))))
    return store


def decode_shared(
    paths: Sequence[str], side: int, crop_size: int, draft: bool = True, threads: int = 1
) -> torch.Tensor:
    """:func:`decode_all`, with the work split across the processes of a distributed run and the results gathered."""
    world_size, rank = idist.get_world_size(), idist.get_rank()
    if world_size == 1:
        return decode_all(paths, side, crop_size, draft, threads)
    mine = decode_all(paths[rank::world_size], side, crop_size, draft, threads)
    per_rank = math.ceil(len(paths) / world_size)
    padded = torch.zeros((per_rank, side, side, 3), dtype=torch.uint8)
    padded[: len(mine)] = mine
    store = torch.empty((len(paths), side, side, 3), dtype=torch.uint8)
    for start in range(0, per_rank, GATHER_CHUNK):
        chunk = padded[start : start + GATHER_CHUNK].contiguous()
        gathered = idist.all_gather(chunk).cpu()  # (world_size * len(chunk), S, S, 3), rank by rank
        for source in range(world_size):
            positions = source + world_size * torch.arange(start, start + len(chunk))
            valid = positions < len(paths)
            store[positions[valid]] = gathered[source * len(chunk) : (source + 1) * len(chunk)][valid]
    return store


def batch_seed(seed: int, indices: Sequence[int]) -> int:
    """A seed that depends only on ``seed`` and the batch's sample indices (so on the epoch's shuffle)."""
    data = np.asarray(indices, dtype=np.int64).tobytes()
    return (int(seed) * 1_000_003 + zlib.crc32(data)) % (2**63)


def crop_fractions(
    random: torch.Tensor, scale: tuple[float, float] = (0.35, 1.0), ratio: tuple[float, float] = (3 / 4, 4 / 3)
) -> tuple[torch.Tensor, torch.Tensor]:
    """Width and height of random crops as fractions of a square's side, from uniform numbers ``random[:, 0:2]``.

    The area fraction is uniform in ``scale`` and the log aspect ratio uniform in ``log(ratio)``,
    as in torchvision's ``RandomResizedCrop`` (sides clipped to the square instead of resampled).
    """
    area = scale[0] + (scale[1] - scale[0]) * random[:, 0]
    log_low, log_high = math.log(ratio[0]), math.log(ratio[1])
    aspect = torch.exp(log_low + (log_high - log_low) * random[:, 1])
    return torch.sqrt(area * aspect).clamp(max=1.0), torch.sqrt(area / aspect).clamp(max=1.0)


def random_resized_crop(
    pixels: torch.Tensor, size: int, random: torch.Tensor, batched: bool | None = None
) -> torch.Tensor:
    """A different random crop and horizontal flip of each square, resized to ``size`` x ``size``.

    Args:
        pixels: (B, S, S, 3) uint8.
        random: (B, 5) uniform numbers in [0, 1): crop area, aspect, x and y position, flip (< 0.5).
        batched: one ``grid_sample`` for the whole batch (the default on GPUs); else one antialiased
            uint8 resize per image (the default on CPUs, where it is several times faster).
    Returns:
        (B, 3, size, size) in [0, 255]: float from ``grid_sample``, uint8 (channels_last) from the per-image path.
    """
    batch, side = pixels.shape[0], pixels.shape[1]
    width, height = crop_fractions(random)
    if batched if batched is not None else pixels.device.type != "cpu":
        images = pixels.permute(0, 3, 1, 2).float()
        theta = torch.zeros(batch, 2, 3, device=pixels.device)
        theta[:, 0, 0] = width * torch.where(random[:, 4] < 0.5, -1.0, 1.0)
        theta[:, 0, 2] = (2 * random[:, 2] - 1) * (1 - width)
        theta[:, 1, 1] = height
        theta[:, 1, 2] = (2 * random[:, 3] - 1) * (1 - height)
        grid = F.affine_grid(theta, [batch, 3, size, size], align_corners=False)
        return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    out = torch.empty((batch, 3, size, size), dtype=torch.uint8, memory_format=torch.channels_last)
    rows = zip(width.tolist(), height.tolist(), random[:, 2:].tolist(), strict=True)
    for i, (w, h, (x, y, flip)) in enumerate(rows):
        w_px, h_px = max(1, round(w * side)), max(1, round(h * side))
        left, top = round(x * (side - w_px)), round(y * (side - h_px))
        crop = pixels[i, top : top + h_px, left : left + w_px].permute(2, 0, 1).unsqueeze(0)
        crop = crop.contiguous(memory_format=torch.channels_last)  # the fast (vectorised uint8) resize path
        resized = F.interpolate(crop, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[i].copy_(resized[0].flip(2) if flip < 0.5 else resized[0])
    return out


def normalize_255(images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """``(images / 255 - mean) / std`` as float for (B, 3, H, W) images in [0, 255]; float input is changed in place.

    Channels-last images stay channels-last: the arithmetic then runs on rows of the NHWC memory
    with the per-channel constants repeated along each row, which a CPU vectorises (broadcasting
    over a channel dimension of 3 innermost is several times slower).
    """
    scale, bias = 1 / (255 * std.reshape(3)), -mean.reshape(3) / std.reshape(3)
    out = images.float()
    if out.is_contiguous(memory_format=torch.channels_last) and not out.is_contiguous():
        width = out.shape[3]
        rows = out.permute(0, 2, 3, 1).view(-1, width * 3)
        torch.addcmul(bias.repeat(width), rows, scale.repeat(width), out=rows)
        return out
    return out.mul_(scale.view(1, 3, 1, 1)).add_(bias.view(1, 3, 1, 1))


def color_jitter(images: torch.Tensor, strength: float, generator: torch.Generator) -> torch.Tensor:
    """Per-image random brightness, contrast and saturation factors in ``[1 - strength, 1 + strength]``.

    Args:
        images: (B, 3, H, W) float in [0, 1].
    """
    batch = images.shape[0]
    factors = (1 + strength * (2 * torch.rand(batch, 3, 1, 1, 1, generator=generator, device=images.device) - 1)).clamp(
        min=0
    )
    weights = torch.tensor([0.299, 0.587, 0.114], device=images.device).view(1, 3, 1, 1)
    images = (images * factors[:, 0]).clamp(0, 1)
    mean = (images * weights).sum(dim=1, keepdim=True).mean(dim=(2, 3), keepdim=True)
    images = ((images - mean) * factors[:, 1] + mean).clamp(0, 1)
    gray = (images * weights).sum(dim=1, keepdim=True)
    return ((images - gray) * factors[:, 2] + gray).clamp(0, 1)


class CachedImages(LabelledSamples, Dataset):
    """One split held in memory as uint8 squares; ``__getitems__`` returns a whole augmented batch.

    Args:
        images: (N, S, S, 3) uint8, from :func:`decode_all` (on the CPU or a GPU).
        labels: class index of every image.
        samples: the ``(path, class index)`` of every image (kept for reports and galleries).
        classes: class names.
        image_size: side of the returned images.
        train: random resized crop + flip (+ ``jitter``); else the centre crop.
        jitter: colour jitter strength (0 = off).
        seed: base seed of the per-batch random numbers.

    ``transform`` holds the normalisation that is applied, for code that undoes it for display.

    Example::

        train = CachedImages(decode_all(paths, 256, 224), labels, samples, classes, 224, train=True)
        x, y = train.__getitems__([0, 5, 9])  # (3, 3, 224, 224) float, (3,) long
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: Sequence[int],
        samples: Sequence[tuple[str, int]],
        classes: Sequence[str],
        image_size: int,
        train: bool,
        jitter: float = 0.0,
        seed: int = 0,
        policy: Callable[[torch.Tensor], torch.Tensor] | None = None,
        erasing: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[3] != 3:
            raise ValueError(f"images must be (N, S, S, 3) uint8, got {tuple(images.shape)} {images.dtype}")
        if images.shape[1] < image_size:
            raise ValueError(f"cached squares of {images.shape[1]} px are smaller than image_size {image_size}")
        from torchvision import transforms as T

        self.images = images
        self.labels = torch.as_tensor(list(labels), dtype=torch.long, device=images.device)
        self.samples = list(samples)
        self.classes = list(classes)
        self.image_size = int(image_size)
        self.train = train
        self.jitter = float(jitter)
        self.seed = int(seed)
        self.policy, self.erasing = policy, erasing  # ignite_fire/data/augment.py, applied image by image
        self.transform = T.Normalize(IMAGENET_MEAN, IMAGENET_STD)
        self._mean = torch.tensor(IMAGENET_MEAN, device=images.device).view(1, 3, 1, 1)
        self._std = torch.tensor(IMAGENET_STD, device=images.device).view(1, 3, 1, 1)

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        x, y = self.__getitems__([index])
        return x[0], int(y[0])

    def __getitems__(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        device = self.images.device
        index = torch.as_tensor(list(indices), dtype=torch.long).to(device, non_blocking=True)
        pixels = self.images.index_select(0, index)  # (B, S, S, 3) uint8
        labels = self.labels.index_select(0, index)
        if not self.train:  # the same operations as ToTensor + Normalize, so the same numbers
            start = centered_offset(pixels.shape[1], self.image_size)
            end = start + self.image_size
            x = pixels[:, start:end, start:end, :].permute(0, 3, 1, 2).float().div(255)
            return x.sub(self._mean).div(self._std), labels
        seed = batch_seed(self.seed, indices)
        generator = torch.Generator(device=device).manual_seed(seed)
        random = torch.rand(len(indices), 5, generator=generator, device=device)
        x = random_resized_crop(pixels, self.image_size, random)  # in [0, 255]
        if self.policy is not None:
            pixels_uint8 = x if x.dtype == torch.uint8 else x.round_().clamp_(0, 255).byte()
            x = apply_per_image(self.policy, pixels_uint8, seed + 1)
        if self.jitter > 0:
            x = color_jitter(x.float().div_(255), self.jitter, generator).mul_(255)
        x = normalize_255(x, self._mean, self._std)
        return (x if self.erasing is None else apply_per_image(self.erasing, x, seed + 2)), labels


def store_device(nbytes: int, device: torch.device) -> torch.device:
    """Where a store of ``nbytes`` goes: the GPU when it takes <= :data:`GPU_FRACTION` of it, else the host."""
    if device.type == "cuda":
        free, total = torch.cuda.mem_get_info(device)
        if nbytes <= GPU_FRACTION * total and nbytes <= free / 2:
            return device
    return torch.device("cpu")


def available_host_memory() -> int | None:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def cache_splits(
    experiment: Any, splits: DataSplits, settings: RunConfig, device: torch.device
) -> tuple[DataSplits, dict[str, Any]]:
    """With ``cache="memory"``: the splits as :class:`CachedImages`, and the options their loaders need.

    Returns ``(splits, {})`` unchanged otherwise. The options are keyword arguments of
    :func:`~ignite_fire.data.loaders.build_train_loader` and ``build_eval_loader``.
    """
    if settings.speed.cache != "memory":
        return splits, {}
    if "build_transforms" in getattr(experiment, "factories", {}):
        raise UserError(
            "--cache=memory applies its own augmentation and cannot use the experiment's build_transforms; "
            "remove one of them"
        )
    for split in (splits.train, splits.val):
        samples = getattr(split, "samples", None)
        if not isinstance(samples, list) or (samples and not isinstance(samples[0], (tuple, list))):
            raise UserError(
                f"--cache=memory needs datasets with a list of (path, class index) `samples`; "
                f"{type(split).__name__} has none (use --cache=None)"
            )
    image_size = settings.data.image_size
    side = resize_size(image_size)
    count = len(splits.train.samples) + len(splits.val.samples)
    nbytes = count * side * side * 3
    free = available_host_memory()
    if free is not None and nbytes > 0.8 * free:
        raise UserError(
            f"--cache=memory needs {nbytes / 2**30:.1f} GiB for {count} images at {side} px but only "
            f"{free / 2**30:.1f} GiB are free: lower --image_size or use --cache=None"
        )
    workers = settings.data.num_workers
    threads = max(1, workers if workers else default_num_workers() // max(1, idist.get_nproc_per_node()))
    draft = settings.speed.jpeg_draft
    start = time.perf_counter()
    stores = [
        decode_shared([path for path, _ in split.samples], side, image_size, draft, threads)
        for split in (splits.train, splits.val)
    ]
    seconds = time.perf_counter() - start
    where = store_device(nbytes, device)
    stores = [store.to(where) for store in stores]
    logger.info(
        f"memory cache: {count} images decoded at {side} px in {seconds:.1f} s "
        f"({count / max(seconds, 1e-9):.0f} img/s, "
        f"{threads} threads x {idist.get_world_size()} processes), {nbytes / 2**20:.0f} MiB on {where}"
    )
    seed, jitter = settings.update.seed, settings.augmentation.color_jitter
    cached = DataSplits(  # CachedImages has ImageListDataset's interface: a LabelledSamples Dataset
        train=CachedImages(  # type: ignore[arg-type]  # (the same interface, see above)
            stores[0], splits.train.targets, splits.train.samples, splits.classes, image_size, True, jitter, seed,
            *policies_of(settings.augmentation),  # the augment policy and random_erasing of the default transforms
        ),
        val=CachedImages(stores[1], splits.val.targets, splits.val.samples, splits.classes, image_size, False),  # type: ignore[arg-type]  # (as train)
        classes=list(splits.classes),
    )
    options: dict[str, Any] = {"collate_fn": keep_batch}
    if where.type == "cuda":  # batches are made on the GPU: no workers, nothing to pin
        options.update(num_workers=0, pin_memory=False)
    return cached, options
