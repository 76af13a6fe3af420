"""PredictionGallery: original colours, which images it keeps, when it draws, Chinese captions."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from ignite.engine import Engine, Events
from PIL import Image
from sklearn.datasets import load_sample_images
from torch import nn
from torch.utils.data import DataLoader
from torchvision import transforms as T

from ignite_fire.config import DEFAULTS
from ignite_fire.data.datasets import ImageListDataset
from ignite_fire.data.transforms import IMAGENET_MEAN, IMAGENET_STD, build_transforms, denormalize
from ignite_fire.engines import create_evaluator
from ignite_fire.metrics import TIANCHI_F1_WEIGHTS
from ignite_fire.pictures.fonts import font_for
from ignite_fire.pictures.gallery import PredictionGallery, normalization_of


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two real colour photographs (scikit-learn's bundled china.jpg and flower.jpg), saved losslessly."""
    folder = tmp_path_factory.mktemp("photos")
    paths = []
    for name, array in zip(("china", "flower"), load_sample_images().images, strict=True):
        path = folder / f"{name}.png"
        Image.fromarray(array).save(path)
        paths.append(path)
    return paths


def trainer_at(epoch: int, max_epochs: int) -> Engine:
    trainer = Engine(lambda engine, batch: None)
    trainer.state.epoch, trainer.state.max_epochs, trainer.state.iteration = epoch, max_epochs, 10 * epoch
    return trainer


def scripted_evaluator(batches: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]) -> tuple[Engine, list]:
    """An engine whose output for batch i is ``(logits_i, targets_i)``, as the framework's evaluator's."""
    data = [(images, targets) for images, targets, _ in batches]
    logits = [batch_logits for _, _, batch_logits in batches]
    engine = Engine(lambda e, batch: (logits[e.state.iteration - 1], batch[1]))
    return engine, data


def pil_crop(path: Path, transform: T.Compose) -> np.ndarray:
    """The source image through the transform's geometric steps only (no ToTensor, no Normalize)."""
    geometric = T.Compose([t for t in transform.transforms if not isinstance(t, (T.ToTensor, T.Normalize))])
    return np.asarray(geometric(Image.open(path).convert("RGB")), dtype=np.int16)


@pytest.mark.parametrize(
    "eval_transform, stats",
    [
        (build_transforms({**DEFAULTS, "image_size": 64})[1], (IMAGENET_MEAN, IMAGENET_STD)),  # the framework default
        (  # quickstart's normalisation
            T.Compose([T.Resize(48), T.CenterCrop(48), T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3)]),
            ((0.5,) * 3, (0.5,) * 3),
        ),
    ],
    ids=["imagenet", "half"],
)
def test_gallery_images_have_the_colours_of_the_source_photos(
    photos: list[Path], tmp_path: Path, eval_transform: T.Compose, stats: tuple
) -> None:
    dataset = ImageListDataset([(str(p), i) for i, p in enumerate(photos)], ["china", "flower"], eval_transform)
    mean, std = normalization_of(dataset)
    assert (mean, std) == (tuple(stats[0]), tuple(stats[1]))

    # The denormalised tensor is the source image (after resize and crop), to within rounding.
    normalised, _ = dataset[0]
    source = pil_crop(photos[0], eval_transform)
    restored = denormalize(normalised, mean, std).permute(1, 2, 0).numpy() * 255
    assert np.abs(restored - source).max() <= 1.0
    seed_style = normalised.permute(1, 2, 0).numpy().clip(0, 1) * 255  # the seed logged normalised tensors
    assert np.abs(seed_style - source).mean() > 40, "the check must be able to tell wrong colours apart"

    # And the images the gallery keeps, draws and logs are those pixels.
    model = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2))
    evaluator = create_evaluator(model)
    trainer = trainer_at(1, 1)
    gallery = PredictionGallery(dataset.classes, tmp_path, trainer, size=4, mean=mean, std=std)
    gallery.attach(evaluator)
    evaluator.run(DataLoader(dataset, batch_size=2))
    kept = {s.position: s for s in gallery.samples if s.kind == "example"}
    assert sorted(kept) == [0, 1]
    for position, path in enumerate(photos):
        image = kept[position].image
        assert image.dtype == np.uint8
        assert np.abs(image.astype(np.int16) - pil_crop(path, eval_transform)).max() <= 1
    assert (tmp_path / "gallery_epoch1.png").is_file()


def test_normalization_is_found_through_subsets_and_defaults_without_a_transform() -> None:
    dataset = ImageListDataset([], ["a"], T.Compose([T.ToTensor(), T.Normalize((0.1, 0.2, 0.3), (0.4, 0.5, 0.6))]))
    subset = torch.utils.data.Subset(dataset, [])
    assert normalization_of(subset) == ((0.1, 0.2, 0.3), (0.4, 0.5, 0.6))
    assert normalization_of(ImageListDataset([], ["a"], T.Compose([T.ToTensor()]))) == ((0.0,), (1.0,))
    with pytest.warns(RuntimeWarning, match="ImageNet mean and std"):
        assert normalization_of(torch.utils.data.TensorDataset(torch.zeros(1))) == (IMAGENET_MEAN, IMAGENET_STD)


def test_it_keeps_the_first_images_of_each_class_and_the_most_confident_mistakes(tmp_path: Path) -> None:
    torch.manual_seed(0)
    # 12 images in 3 batches, 3 classes; image i is filled with the value i / 12 so it can be recognised.
    targets = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2])
    preds = torch.tensor([0, 2, 2, 1, 1, 0, 0, 0, 1, 2, 1, 2])  # wrong at 1, 3, 5, 7, 8, 9
    confidence = torch.tensor([0.9, 0.5, 0.8, 0.95, 0.7, 0.6, 0.9, 0.85, 0.4, 0.99, 0.9, 0.9])
    probs = torch.full((12, 3), 0.0)
    probs[torch.arange(12), preds] = confidence
    others = (1 - confidence) / 2
    for c in range(3):
        probs[:, c] = torch.where(preds == c, probs[:, c], others)
    logits = probs.log()
    images = torch.arange(12, dtype=torch.float32).div(12).view(12, 1, 1, 1).expand(12, 3, 4, 4).contiguous()
    batches = [(images[i : i + 4], targets[i : i + 4], logits[i : i + 4]) for i in (0, 4, 8)]
    engine, data = scripted_evaluator(batches)
    files = [f"img{i}.png" for i in range(12)]
    gallery = PredictionGallery(
        ["a", "b", "c"], tmp_path, trainer_at(1, 1), size=6, mean=(0.0,), std=(1.0,), files=files
    )
    gallery.attach(engine)
    engine.run(data)

    examples = [s for s in gallery.samples if s.kind == "example"]
    mistakes = [s for s in gallery.samples if s.kind == "mistake"]
    assert [(s.position, s.target) for s in examples] == [(0, 0), (1, 1), (2, 2)]  # one per class (6 // 2 // 3)
    assert [s.position for s in mistakes] == [9, 3, 7]  # the 3 most confident wrong ones, best first
    assert [round(s.confidence, 2) for s in mistakes] == [0.99, 0.95, 0.85]
    assert mistakes[0].pred == 2 and mistakes[0].target == 0 and mistakes[0].file == "img9.png"
    assert sum(mistakes[0].probs) == pytest.approx(1.0)
    assert mistakes[0].image[0, 0].tolist() == [round(9 / 12 * 255)] * 3  # the image of position 9
    assert gallery.caption(mistakes[0]) == "true: a, pred: c (0.99)"


def test_a_class_example_is_not_shown_again_as_a_mistake(tmp_path: Path) -> None:
    targets = torch.tensor([0, 1, 0])
    logits = torch.tensor([[0.0, 5.0], [0.0, 1.0], [0.0, 2.0]])  # all predicted 1: 0 and 2 are wrong
    engine, data = scripted_evaluator([(torch.rand(3, 3, 4, 4), targets, logits)])
    gallery = PredictionGallery(["a", "b"], tmp_path, trainer_at(1, 1), size=4, mean=(0.0,), std=(1.0,))
    gallery.attach(engine)
    engine.run(data)
    assert [(s.position, s.kind) for s in gallery.samples] == [(0, "example"), (1, "example"), (2, "mistake")]


def run_training(gallery_every: int, max_epochs: int, tmp_path: Path, stop_at: int | None = None) -> list[str]:
    images, targets = torch.rand(8, 3, 8, 8), torch.tensor([0, 1] * 4)
    evaluator = create_evaluator(nn.Sequential(nn.Flatten(), nn.Linear(192, 2)))
    trainer = Engine(lambda engine, batch: None)
    gallery = PredictionGallery(["a", "b"], tmp_path, trainer, every=gallery_every, size=4)
    gallery.attach(evaluator)

    @trainer.on(Events.EPOCH_COMPLETED)
    def validate(engine: Engine) -> None:
        evaluator.run([(images[:4], targets[:4]), (images[4:], targets[4:])])
        if engine.state.epoch == stop_at:
            engine.terminate()  # as early stopping does

    trainer.run([0], max_epochs=max_epochs)
    return sorted(p.name for p in tmp_path.glob("gallery_epoch*.png"))


def test_it_draws_every_n_epochs_and_the_last_one(tmp_path: Path) -> None:
    assert run_training(2, 5, tmp_path / "a") == ["gallery_epoch2.png", "gallery_epoch4.png", "gallery_epoch5.png"]
    assert run_training(10, 3, tmp_path / "b", stop_at=2) == ["gallery_epoch2.png"]  # stopped early: still drawn


def test_chinese_class_names_in_the_gallery(tmp_path: Path) -> None:
    classes = list(TIANCHI_F1_WEIGHTS)
    if font_for("".join(classes)) is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    images, targets = torch.rand(10, 3, 8, 8), torch.arange(10) % 5
    evaluator = create_evaluator(nn.Sequential(nn.Flatten(), nn.Linear(192, 5)))
    gallery = PredictionGallery(classes, tmp_path, trainer_at(3, 3), size=10)
    gallery.attach(evaluator)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        evaluator.run([(images, targets)])
    assert not [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert gallery.samples and gallery.caption(gallery.samples[0]).startswith("true: 高风险, pred: ")
    with Image.open(tmp_path / "gallery_epoch3.png") as picture:
        assert np.asarray(picture.convert("L")).std() > 10


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"classes": []}, "Argument classes should not be empty"),
        ({"every": 0}, "Argument every should be a positive integer, got 0"),
        ({"size": True}, "Argument size should be a positive integer, got True"),
        ({"mean": (0.5,), "std": (0.5, 0.5)}, "Arguments mean and std should have the same length"),
    ],
)
def test_arguments_are_checked(kwargs: dict, message: str, tmp_path: Path) -> None:
    arguments = {"classes": ["a"], "output_dir": tmp_path, "trainer": Engine(lambda e, b: None), **kwargs}
    with pytest.raises(ValueError, match=message):
        PredictionGallery(**arguments)


def test_an_explainer_draws_the_mistakes_with_their_overlays(tmp_path: Path) -> None:
    targets = torch.tensor([0, 1, 0, 1])
    logits = torch.tensor([[5.0, 0.0], [0.0, 5.0], [0.0, 3.0], [2.0, 0.0]])  # 2 and 3 are wrong
    images = torch.rand(4, 3, 4, 4)
    engine, data = scripted_evaluator([(images, targets, logits)])
    calls = []

    def explainer(inputs: torch.Tensor, classes: list[int]) -> list[np.ndarray]:
        calls.append((inputs.clone(), list(classes)))
        return [np.full((4, 4, 3), 255 * i, dtype=np.uint8) for i in range(len(classes))]

    trainer = trainer_at(1, 1)
    gallery = PredictionGallery(["a", "b"], tmp_path, trainer, size=4, mean=(0.0,), std=(1.0,), explainer=explainer)
    gallery.attach(engine)
    engine.run(data)

    assert len(calls) == 1 and calls[0][1] == [1, 0]  # the predicted classes of the mistakes, most confident first
    assert torch.equal(calls[0][0], images[[2, 3]])  # the normalised inputs, as the model saw them
    overlays = {s.position: s.overlay for s in gallery.samples}
    assert overlays[0] is None and overlays[1] is None and overlays[2].max() == 0 and overlays[3].min() == 255
    assert (tmp_path / "gallery_epoch1.png").is_file()
