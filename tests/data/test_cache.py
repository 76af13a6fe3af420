"""cache="memory": decoded once, validation pixel-exact, training augmentation per batch and reproducible.

Decoding shared between processes is tested by tests/test_distributed.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ignite_fire.config import DEFAULTS, RunConfig
from ignite_fire.data.cache import CachedImages, cache_splits, decode_all, keep_batch, random_resized_crop
from ignite_fire.data.datasets import build_datasets
from ignite_fire.data.decode import resize_size
from ignite_fire.data.loaders import build_eval_loader, build_train_loader
from ignite_fire.data.transforms import build_transforms
from ignite_fire.errors import UserError
from ignite_fire.experiment import experiment_from_config, load_experiment
from ignite_fire.training import train
from tests.helpers import TINY_EXPERIMENT

SIZE = 16


def digits_config(digits_dir: Path, **extra: object) -> dict:
    config = {**DEFAULTS, "data_dir": str(digits_dir), "image_size": SIZE, "seed": 0, "cache": "memory"}
    return {**config, "num_workers": 0, **extra}


@pytest.fixture(scope="module")
def cached(digits_dir: Path):
    config = digits_config(digits_dir)
    splits = build_datasets(config, build_transforms(config))
    return splits, *cache_splits(None, splits, RunConfig.from_dict(config), torch.device("cpu"))


def test_validation_batches_equal_the_default_eval_transform_exactly(cached) -> None:
    plain, splits, _ = cached
    indices = list(range(0, len(plain.val), 7))
    x, y = splits.val.__getitems__(indices)
    expected = torch.stack([plain.val[i][0] for i in indices])
    assert torch.equal(x, expected)
    assert y.tolist() == [plain.val.samples[i][1] for i in indices]


def test_validation_of_camera_photos_is_exact_too(houses4_original: Path) -> None:
    paths = sorted(str(p) for p in houses4_original.rglob("*.jpg"))[:6]
    samples = [(p, 0) for p in paths]
    _, eval_tf = build_transforms({**DEFAULTS, "image_size": 224})
    from ignite_fire.data.datasets import ImageListDataset

    plain = ImageListDataset(samples, ["a"], eval_tf, draft_size=resize_size(224))
    store = decode_all(paths, resize_size(224), 224, draft=True, threads=2)
    cached = CachedImages(store, [0] * len(paths), samples, ["a"], 224, train=False)
    x, _ = cached.__getitems__(range(len(paths)))
    assert torch.equal(x, torch.stack([plain[i][0] for i in range(len(paths))]))


def test_training_batches_are_augmented_per_sample_and_reproducible(cached) -> None:
    _, splits, _ = cached
    indices = [3, 3, 3, 3, 10, 11]
    x, y = splits.train.__getitems__(indices)
    assert x.shape == (6, 3, SIZE, SIZE) and x.dtype == torch.float32
    assert y.tolist() == [splits.train.samples[i][1] for i in indices]
    assert not torch.equal(x[0], x[1]) or not torch.equal(x[1], x[2])  # same image, different crops
    again, _ = splits.train.__getitems__(indices)
    assert torch.equal(x, again)  # the numbers depend only on the seed and the batch's indices
    other, _ = splits.train.__getitems__([3, 3, 3, 3, 10, 12])
    assert not torch.equal(x[:4], other[:4])
    assert -3.0 < float(x.mean()) < 3.0 and float(x.std()) > 0.1  # normalised


def test_colour_jitter_changes_the_colours(digits_dir: Path) -> None:
    config = digits_config(digits_dir, color_jitter=0.5)
    splits = build_datasets(config, build_transforms(config))
    jittered, _ = cache_splits(None, splits, RunConfig.from_dict(config), torch.device("cpu"))
    plain, _ = cache_splits(None, splits, RunConfig.from_dict(digits_config(digits_dir)), torch.device("cpu"))
    indices = list(range(8))
    assert not torch.allclose(jittered.train.__getitems__(indices)[0], plain.train.__getitems__(indices)[0])


def test_loaders_deliver_whole_batches_from_workers(cached, digits_dir: Path) -> None:
    _, splits, options = cached
    assert options["collate_fn"] is keep_batch
    config = digits_config(digits_dir)
    loader = build_train_loader(splits.train, splits.train.targets, 16, config["seed"], **{"num_workers": 2, **options})
    x, y = next(iter(loader))
    assert x.shape == (16, 3, SIZE, SIZE) and y.shape == (16,)
    val = build_eval_loader(splits.val, 16, **options)
    assert sum(len(y) for _, y in val) == len(splits.val)


def test_a_run_with_the_memory_cache_trains_and_validates(digits_dir: Path, tmp_path: Path) -> None:
    overrides = {
        "data_dir": str(digits_dir),
        "output_dir": str(tmp_path),
        "name": "cached",
        "epochs": 2,
        "cache": "memory",
        "wandb_mode": "disabled",
        "graph": False,
        "gallery_every": 0,
    }
    results = train(load_experiment(TINY_EXPERIMENT, overrides))
    assert results["status"] == "finished" and results["epochs_completed"] == 2
    history = json.loads((tmp_path / "cached" / "history.json").read_text())
    assert history[-1]["val_acc"] > 0.2  # ten classes: it learned something in two epochs


def test_the_cache_refuses_an_experiment_with_its_own_transforms(digits_dir: Path) -> None:
    config = digits_config(digits_dir)
    splits = build_datasets(config, build_transforms(config))
    experiment = experiment_from_config("custom", config, build_transforms=build_transforms)
    with pytest.raises(UserError, match="cannot use the experiment's build_transforms"):
        cache_splits(experiment, splits, RunConfig.from_dict(config), torch.device("cpu"))


def test_the_gpu_crop_one_grid_sample_per_batch_matches_the_cpu_crop(cached) -> None:
    """The GPU path (batched ``grid_sample``), run on the CPU: same crops as the per-image path, up to resampling."""
    _, splits, _ = cached
    pixels = splits.train.images[:16]
    random = torch.rand(16, 5, generator=torch.Generator().manual_seed(1))
    batched = random_resized_crop(pixels, SIZE, random, batched=True)
    per_image = random_resized_crop(pixels, SIZE, random, batched=False)
    assert batched.shape == per_image.shape == (16, 3, SIZE, SIZE)
    assert 0 <= float(batched.min()) and float(batched.max()) <= 255
    assert (batched - per_image).abs().mean() < 12  # of 255: one-pixel offsets and bilinear vs antialiased
    mirrored = random.clone()
    mirrored[:, 4] = 1 - mirrored[:, 4]  # flip exactly the others
    assert not torch.allclose(random_resized_crop(pixels, SIZE, mirrored, batched=True), batched)
