"""The pictures: Chinese class names drawn as characters (not boxes), legible fallback, PNGs not blank."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from ignite_fire import plots
from ignite_fire.handlers import wandb_logging
from ignite_fire.metrics import TIANCHI_F1_WEIGHTS

TIANCHI_CLASSES = list(TIANCHI_F1_WEIGHTS)  # 高风险, 中风险, 低风险, 无风险, 非楼道


def glyph_bitmap(character: str, family: list[str]) -> np.ndarray:
    """The character drawn alone, black on white, as a grey bitmap."""
    figure = Figure(figsize=(0.6, 0.6), dpi=100)
    canvas = FigureCanvasAgg(figure)
    figure.text(0.5, 0.5, character, fontsize=30, fontfamily=family, ha="center", va="center")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Glyph ... missing": drawing the box is the point for the reference
        canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., 0].copy()


def assert_picture(path: Path) -> np.ndarray:
    """``path`` is a PNG that opens and is not one flat colour."""
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    assert pixels.shape[0] > 50 and pixels.shape[1] > 50, pixels.shape
    assert pixels.std() > 10, f"{path} is blank"
    return pixels


def gallery_items(labels: list[str]) -> list[plots.GalleryItem]:
    rng = np.random.default_rng(0)
    return [
        plots.GalleryItem(
            rng.integers(0, 255, (24, 24, 3), dtype=np.uint8), labels[i % 5], labels[(i + i // 5) % 5], 0.5
        )
        for i in range(10)
    ]


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wandb_logging, "_warned_once", set())


def test_chinese_class_names_are_drawn_as_characters_not_boxes(tmp_path: Path, fresh_warnings: None) -> None:
    families = plots.font_for("".join(TIANCHI_CLASSES))
    if families is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    fonts = plots.label_fonts(TIANCHI_CLASSES)
    assert fonts.ok and fonts.family == list(families)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = plots.plot_gallery(gallery_items(TIANCHI_CLASSES), tmp_path / "gallery.png", "高风险", fonts)
        plots.plot_confusion_matrix(
            torch.eye(5, dtype=torch.long) * 3, TIANCHI_CLASSES, tmp_path / "cm.png", fonts=fonts
        )
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert not missing, missing  # matplotlib warns "Glyph ... missing from font(s)" for every box it draws
    assert_picture(path)
    assert_picture(tmp_path / "cm.png")

    # Each character's bitmap is its own glyph: not the font's missing-glyph box (what DejaVu Sans draws).
    box = glyph_bitmap("\ue000", fonts.family)  # a private-use code point no font has: the .notdef box
    dejavu_box = glyph_bitmap("高", [plots.DEFAULT_FAMILY])
    assert (dejavu_box < 128).sum() > 20  # the box is visible, so comparing with it means something
    characters = sorted(set("".join(TIANCHI_CLASSES)))
    bitmaps = {c: glyph_bitmap(c, fonts.family) for c in characters}
    for character, bitmap in bitmaps.items():
        assert (bitmap < 128).sum() > 20, f"{character} drew nothing"
        assert not np.array_equal(bitmap, box), f"{character} is drawn as the missing-glyph box"
        assert not np.array_equal(bitmap, dejavu_box), f"{character} is drawn as DejaVu's missing-glyph box"
    assert len({b.tobytes() for b in bitmaps.values()}) == len(characters)  # all different glyphs


def test_without_a_cjk_font_labels_fall_back_to_index_and_escapes_and_warn_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_warnings: None
) -> None:
    monkeypatch.setattr(plots, "PREFERRED_FALLBACKS", ())
    monkeypatch.setattr(plots, "_installed_families", lambda: (plots.DEFAULT_FAMILY,))
    with pytest.warns(RuntimeWarning, match="apt-get install fonts-noto-cjk"):
        fonts = plots.label_fonts(TIANCHI_CLASSES)
    assert not fonts.ok
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not plots.label_fonts(TIANCHI_CLASSES).ok  # the second time is silent
    labels = [plots.display_label(name, i, fonts) for i, name in enumerate(TIANCHI_CLASSES)]
    assert labels[0] == "#0 \\u9ad8\\u98ce\\u9669"
    assert all(label.isascii() for label in labels)
    assert plots.display_label("kitchen", 3, fonts) == "#3 kitchen"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plots.plot_gallery(gallery_items(labels), tmp_path / "gallery.png", fonts=fonts)
    assert not [w for w in caught if "missing from" in str(w.message)]
    assert_picture(tmp_path / "gallery.png")


def test_latin_names_need_no_fallback_font() -> None:
    assert plots.font_for("bathroom kitchen") == (plots.DEFAULT_FAMILY,)
    assert plots.label_fonts(["bathroom", "kitchen"]).family == [plots.DEFAULT_FAMILY]


def test_to_uint8_image_rounds_and_moves_channels_last() -> None:
    image = torch.tensor([[[0.0, 1.0]], [[0.5, 0.25]], [[1.2, -0.1]]])  # (3, 1, 2)
    array = plots.to_uint8_image(image)
    assert array.shape == (1, 2, 3) and array.dtype == np.uint8
    assert array[0, 0].tolist() == [0, 128, 255] and array[0, 1].tolist() == [255, 64, 0]
    assert plots.to_uint8_image(torch.zeros(1, 4, 4)).shape == (4, 4, 3)  # grey becomes RGB


def test_curves_and_confusion_matrix_pictures(tmp_path: Path) -> None:
    history = [
        {
            "epoch": e,
            "train_loss": 1 / e,
            "val_loss": 1.2 / e,
            "val_acc": 0.5 + e / 10,
            "val_macro_f1": 0.4 + e / 10,
            "val_score": 3 + e / 5,
            "train_acc": 0.6,
            "lr": 0.01 / e,
        }
        for e in (1, 2, 3)
    ]
    assert_picture(plots.plot_curves(history, tmp_path / "curves.png", best_epoch=3, title="run"))
    assert_picture(plots.plot_curves(history[:1], tmp_path / "one.png"))  # after the first epoch
    counts = plots.plot_confusion_matrix(torch.tensor([[5, 1], [0, 0]]), ["a", "b"], tmp_path / "cm.png")
    assert_picture(counts)  # a class with no images gives a row of zeros, not NaN
    assert not list(tmp_path.glob(".*.tmp")), "temporary files are renamed away"
