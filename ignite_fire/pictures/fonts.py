"""Fonts that draw the class names: matplotlib's DejaVu Sans, plus an installed font for what it lacks.

Class names in other scripts (the Tianchi classes are Chinese: 高风险, 中风险, ...) are drawn with
an installed font that has their glyphs (Debian/Ubuntu: ``apt-get install fonts-noto-cjk``). When no
font in matplotlib's font list has them, the list is rebuilt once (it is cached in
``~/.cache/matplotlib/fontlist-*.json`` and misses a font installed after it was written). Without
one, :func:`label_fonts` warns once and :func:`display_label` returns a short label instead (``#0``),
never a row of boxes; :meth:`LabelFonts.legend_for` (``#0 \\u9ad8\\u98ce\\u9669  #1 ...``) says which is which.

Example::

    fonts = label_fonts(classes)
    labels = [display_label(name, i, fonts) for i, name in enumerate(classes)]
"""

from __future__ import annotations

import functools
import logging
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ignite_fire.warn import warn_once

# matplotlib logs "findfont: Failed to find font weight ..." for every font lookup that falls back;
# the fonts here are chosen by their glyphs, and label_fonts warns once when none has them.
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)

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
    names: tuple[str, ...] = ()  # without a font: the class names the short labels #0, #1, ... stand for

    def legend_for(self, width: int) -> str:
        """Without a font: ``#0 \\u9ad8\\u98ce\\u9669   #1 ...`` wrapped to ``width`` characters; else ``""``."""
        return "" if self.ok or not self.names else fallback_legend(self.names, width)

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

    try:  # fontManager.findfont, not font_manager.findfont: that one is bound to the list before a rebuild
        properties = font_manager.FontProperties(family=family)
        path = font_manager.fontManager.findfont(properties, fallback_to_default=False)
        return frozenset(font_manager.get_font(path).get_charmap())
    except Exception:
        return frozenset()


@functools.cache
def _installed_families() -> tuple[str, ...]:
    from matplotlib import font_manager

    return tuple(sorted({entry.name for entry in font_manager.fontManager.ttflist}))


@functools.cache
def rebuild_font_list() -> None:
    """Rebuild matplotlib's font list from the installed fonts, once per process, and rewrite its cache file.

    In place, as matplotlib itself does on a missing font file: its Agg backend holds this very instance.
    """
    from matplotlib import font_manager

    fresh = font_manager._load_fontmanager(try_read_cache=False)  # type: ignore[attr-defined]
    vars(font_manager.fontManager).update(vars(fresh))
    font_manager.fontManager._findfont_cached.cache_clear()  # type: ignore[attr-defined]
    for cached in (_charmap, _installed_families):
        getattr(cached, "cache_clear", lambda: None)()  # a test may have put a plain function there


def _find_families(missing: set[int]) -> tuple[str, ...] | None:
    candidates = list(PREFERRED_FALLBACKS) + [f for f in _installed_families() if f not in PREFERRED_FALLBACKS]
    for family in candidates:
        if missing <= _charmap(family):
            return (DEFAULT_FAMILY, family)
    return None


def font_for(characters: Iterable[str]) -> tuple[str, ...] | None:
    """Font families (default first) that together have a glyph for every character, or None.

    When none has them, matplotlib's font list is rebuilt once before giving up: a font installed
    after the list was cached (``apt-get install fonts-noto-cjk``) is then found without deleting it.
    """
    needed = {ord(c) for c in characters if not c.isspace()}
    missing = needed - _charmap(DEFAULT_FAMILY)
    if not missing:
        return (DEFAULT_FAMILY,)
    families = _find_families(missing)
    if families is None and rebuild_font_list.cache_info().currsize == 0:  # not rebuilt yet in this process
        rebuild_font_list()
        families = _find_families(missing)
    return families


def label_fonts(labels: Sequence[str]) -> LabelFonts:
    """The fonts that draw every one of ``labels``; warns once when no installed font can."""
    families = font_for("".join(labels))
    if families is not None:
        return LabelFonts(families)
    legend = fallback_legend(labels, width=10**6)  # one line
    warn_once(
        "no installed font has glyphs for the class names "
        f"{', '.join(repr(label) for label in labels if not label.isascii())}; pictures label them "
        f"#0, #1, ... with a legend ({legend}) instead (install a CJK font: apt-get install fonts-noto-cjk)"
    )
    return LabelFonts(None, tuple(labels))


def escaped(name: str) -> str:
    """``name`` in ASCII, with ``\\uXXXX`` escapes for what no font here can draw."""
    return name.encode("ascii", "backslashreplace").decode("ascii")


def fallback_legend(labels: Sequence[str], width: int = 100) -> str:
    """``#0 \\u9ad8\\u98ce\\u9669   #1 ...``: which class each short label is, wrapped to ``width`` characters."""
    entries = [f"#{i} {escaped(name)}".replace(" ", "\u00a0") for i, name in enumerate(labels)]
    return "\n".join(textwrap.wrap("   ".join(entries), width)).replace("\u00a0", " ")


def display_label(name: str, index: int, fonts: LabelFonts) -> str:
    """``name`` if ``fonts`` can draw it, else ``#index`` (short: it fits a caption; the legend names it)."""
    return name if fonts.ok else f"#{index}"
