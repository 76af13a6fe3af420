"""Fonts: Chinese class names drawn as characters (not boxes), a legible ASCII fallback, one warning."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ignite_fire.metrics import TIANCHI_F1_WEIGHTS
from ignite_fire.pictures import fonts as fonts_module
from ignite_fire.pictures.drawing import GalleryItem, plot_confusion_matrix, plot_gallery
from ignite_fire.pictures.fonts import DEFAULT_FAMILY, display_label, font_for, label_fonts
from tests.pictures.picture_checks import assert_picture

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



def gallery_items(labels: list[str]) -> list[GalleryItem]:
    rng = np.random.default_rng(0)
    return [
        GalleryItem(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8), labels[i % 5], labels[(i + i // 5) % 5], 0.5)
        for i in range(10)
    ]


def test_chinese_class_names_are_drawn_as_characters_not_boxes(tmp_path: Path, fresh_warnings: None) -> None:
    families = font_for("".join(TIANCHI_CLASSES))
    if families is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    fonts = label_fonts(TIANCHI_CLASSES)
    assert fonts.ok and fonts.family == list(families)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = plot_gallery(gallery_items(TIANCHI_CLASSES), tmp_path / "gallery.png", "高风险", fonts)
        plot_confusion_matrix(torch.eye(5, dtype=torch.long) * 3, TIANCHI_CLASSES, tmp_path / "cm.png", fonts=fonts)
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert not missing, missing  # matplotlib warns "Glyph ... missing from font(s)" for every box it draws
    assert_picture(path)
    assert_picture(tmp_path / "cm.png")

    # Each character's bitmap is its own glyph: not the font's missing-glyph box (what DejaVu Sans draws).
    box = glyph_bitmap("\ue000", fonts.family)  # a private-use code point no font has: the .notdef box
    dejavu_box = glyph_bitmap("高", [DEFAULT_FAMILY])
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
    monkeypatch.setattr(fonts_module, "PREFERRED_FALLBACKS", ())
    monkeypatch.setattr(fonts_module, "_installed_families", lambda: (DEFAULT_FAMILY,))
    with pytest.warns(RuntimeWarning, match="apt-get install fonts-noto-cjk"):
        fonts = label_fonts(TIANCHI_CLASSES)
    assert not fonts.ok
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not label_fonts(TIANCHI_CLASSES).ok  # the second time is silent
    labels = [display_label(name, i, fonts) for i, name in enumerate(TIANCHI_CLASSES)]
    assert labels == ["#0", "#1", "#2", "#3", "#4"]  # short: they fit a caption and a tick
    assert display_label("kitchen", 3, fonts) == "#3"
    legend = fonts.legend_for(30)
    assert legend.startswith("#0 \\u9ad8\\u98ce\\u9669") and legend.isascii()
    assert all(len(line) <= 30 for line in legend.splitlines()) and "#4 \\u975e\\u697c\\u9053" in legend
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plot_gallery(gallery_items(labels), tmp_path / "gallery.png", fonts=fonts)
    assert not [w for w in caught if "missing from" in str(w.message)]
    assert_picture(tmp_path / "gallery.png")


def test_latin_names_need_no_fallback_font() -> None:
    assert font_for("bathroom kitchen") == (DEFAULT_FAMILY,)
    assert label_fonts(["bathroom", "kitchen"]).family == [DEFAULT_FAMILY]
