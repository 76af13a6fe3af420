"""Fonts that draw the class names: matplotlib's DejaVu Sans, plus an installed font for what it lacks.

Class names in other scripts (the Tianchi classes are Chinese: 高风险, 中风险, ...) are drawn with
an installed font that has their glyphs (Debian/Ubuntu: ``apt-get install fonts-noto-cjk``). Without
one, :func:`label_fonts` warns once and :func:`display_label` returns a legible ASCII label instead
(``#0 \\u9ad8\\u98ce\\u9669``), never a row of boxes.

Example::

    fonts = label_fonts(classes)
    labels = [display_label(name, i, fonts) for i, name in enumerate(classes)]
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ignite_fire.warn import warn_once

DEFAULT_FAMILY = "DejaVu Sans"  # matplotlib's own font: Latin, Greek, Cyrillic, no CJK
# Fonts tried first for characters DejaVu Sans lacks (then any installed font that has them).
PREFERRED_FALLBACKS = (
    "Noto Sans CJK SC",
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
    "Noto Serif CJK SC",
    "AR PL UMing CN",
)


@dataclass(frozen=True)
class LabelFonts:
    """The font families that draw a set of labels, or ``families=None`` when no installed font can."""

    families: tuple[str, ...] | None

    @property
    def ok(self) -> bool:
        return self.families is not None

    @property
    def family(self) -> list[str]:
        """For matplotlib's ``fontfamily=``: the default font first, the fallback for the rest."""
        return list(self.families or (DEFAULT_FAMILY,))


@functools.cache
def _charmap(family: str) -> frozenset[int]:
    """The code points the installed font ``family`` has glyphs for (empty when it is not installed)."""
    from matplotlib import font_manager

    try:
        path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
        return frozenset(font_manager.get_font(path).get_charmap())
    except Exception:
        return frozenset()


@functools.cache
def _installed_families() -> tuple[str, ...]:
    from matplotlib import font_manager

    return tuple(sorted({entry.name for entry in font_manager.fontManager.ttflist}))


def font_for(characters: Iterable[str]) -> tuple[str, ...] | None:
    """Font families (default first) that together have a glyph for every character, or None."""
    needed = {ord(c) for c in characters if not c.isspace()}
    missing = needed - _charmap(DEFAULT_FAMILY)
    if not missing:
        return (DEFAULT_FAMILY,)
    candidates = list(PREFERRED_FALLBACKS) + [f for f in _installed_families() if f not in PREFERRED_FALLBACKS]
    for family in candidates:
        if missing <= _charmap(family):
            return (DEFAULT_FAMILY, family)
    return None


def label_fonts(labels: Sequence[str]) -> LabelFonts:
    """The fonts that draw every one of ``labels``; warns once when no installed font can."""
    families = font_for("".join(labels))
    if families is None:
        warn_once(
            "no installed font has glyphs for the class names "
            f"{', '.join(repr(label) for label in labels if not label.isascii())}; pictures label them as "
            "'#index \\uXXXX' instead (install a CJK font: apt-get install fonts-noto-cjk)"
        )
    return LabelFonts(families)


def display_label(name: str, index: int, fonts: LabelFonts) -> str:
    """``name`` if ``fonts`` can draw it, else ``#index`` and the name with escapes for what cannot be drawn."""
    if fonts.ok:
        return name
    return f"#{index} {name.encode('ascii', 'backslashreplace').decode('ascii')}"
