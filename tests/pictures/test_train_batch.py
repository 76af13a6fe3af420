"""train_batch.png: the first augmented batch, denormalised and captioned."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from ignite.engine import Engine
from PIL import Image

from ignite_fire.config import DEFAULTS, RunConfig
from ignite_fire.data.transforms import IMAGENET_MEAN, IMAGENET_STD
from ignite_fire.pictures.train_batch import TrainBatchPicture, augment_title


def test_the_first_batch_is_drawn_once_denormalised(tmp_path: Path) -> None:
    red = torch.zeros(4, 3, 16, 16)
    red[:, 0] = 1.0  # pure red in [0, 1], normalised as the loaders deliver it
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    batches = [((red - mean) / std, torch.tensor([0, 1, 0, 1])), (torch.zeros(4, 3, 16, 16), torch.zeros(4))]
    path = tmp_path / "train_batch.png"
    picture = TrainBatchPicture(
        path,
        ["cat", "dog"],
        title=augment_title(RunConfig.from_dict({**DEFAULTS, "augment": "randaugment"}).augmentation),
    )
    engine = Engine(lambda e, b: None)
    picture.attach(engine)
    engine.run([batches[0]], max_epochs=1)
    first = np.asarray(Image.open(path).convert("RGB"))
    reddish = (first[..., 0] > 200) & (first[..., 1] < 60) & (first[..., 2] < 60)
    assert reddish.sum() > 4 * 100 * 100  # four tiles of red, back in their own colours
    engine.run([batches[1]], max_epochs=2)  # later batches do not redraw it
    assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), first)


def test_the_title_names_the_augmentation() -> None:
    assert augment_title(RunConfig.from_dict(DEFAULTS).augmentation) == "first training batch (crop and flip only)"
    title = augment_title(
        RunConfig.from_dict({**DEFAULTS, "augment": "trivialaugment", "random_erasing": 0.25}).augmentation
    )
    assert title == "first training batch: augment=trivialaugment, random_erasing=0.25"
