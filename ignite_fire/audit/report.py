"""``audit.html``: the audit on one page, in the run page's style, openable from disk (no server).

The page shows the summary, the largest duplicate groups and the label conflicts as rows of
thumbnails, the leaks side by side (test image, matched labelled image, distance) and the top label
issues as a gallery drawn like the run's prediction gallery (given label as "true", suggested as
"pred", in red). Thumbnails are small JPEGs in ``thumbs/`` beside the page, linked relatively, so the
audit folder can be copied whole; the CSVs are linked at the bottom.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ignite_fire.files import atomic_path, write_text_atomic
from ignite_fire.pictures.report import STYLE

THUMB = 160  # pixels, the longer side (the run page's gallery tiles are 160 too)
SHOW_GROUPS = 12
SHOW_PER_GROUP = 8
SHOW_ROWS = 40
GALLERY_SIZE = 24
PAGE_STYLE = (
    STYLE
    + """
.tiles { display: flex; flex-wrap: wrap; gap: 6px; align-items: flex-start; margin: 0.3em 0 1em 0; }
figure { margin: 0; width: 164px; font-size: 0.8em; } figure img { display: block; margin: 0 auto; }
figcaption { overflow-wrap: anywhere; color: #59636e; } figcaption b { color: #1f2328; }
td.left, th.left { text-align: left; } .bad { color: #cf222e; }
"""
)


@dataclass
class Tile:
    """One thumbnail on the page: an image file and its caption lines (the first in bold)."""

    path: str
    caption: tuple[str, ...]


class Thumbnails:
    """Small JPEG copies of the shown images in ``{output}/thumbs/``, one per source file."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.folder = output / "thumbs"

    def __call__(self, path: str) -> str | None:
        """The page-relative link of ``path``'s thumbnail (made once), or None when it does not decode."""
        from PIL import Image

        from ignite_fire.data.images import BadImageError, load_image
        from ignite_fire.pictures.drawing import fit_tile

        name = hashlib.sha1(str(Path(path).resolve()).encode("utf-8")).hexdigest()[:16] + ".jpg"
        target = self.folder / name
        if not target.is_file():
            try:
                image = load_image(path, THUMB)
            except (BadImageError, OSError):
                return None
            self.folder.mkdir(parents=True, exist_ok=True)
            with atomic_path(target) as tmp:  # small images by pixel repetition, as in the run's gallery
                Image.fromarray(fit_tile(np.asarray(image), THUMB)).save(tmp, format="JPEG", quality=85)
        return f"thumbs/{name}"

    def array(self, path: str) -> np.ndarray | None:
        """The thumbnail of ``path`` as a (H, W, 3) uint8 array, for the gallery picture."""
        from PIL import Image

        link = self(path)
        if link is None:
            return None
        with Image.open(self.output / link) as image:
            return np.asarray(image.convert("RGB"))


def tiles_html(tiles: Sequence[Tile], thumbnails: Thumbnails) -> str:
    figures = []
    for tile in tiles:
        link = thumbnails(tile.path)
        alt = html.escape(Path(tile.path).name, quote=True)
        picture = (
            f'<img src="{html.escape(link, quote=True)}" alt="{alt}">' if link else '<p class="bad">unreadable</p>'
        )
        first, *rest = [html.escape(line) for line in tile.caption]
        figures.append(f"<figure>{picture}<figcaption><b>{first}</b><br>{'<br>'.join(rest)}</figcaption></figure>")
    return f'<div class="tiles">{"".join(figures)}</div>'


def table_html(header: Sequence[str], rows: Sequence[Sequence[Any]], left: Sequence[int] = ()) -> str:
    """A plain table; the cells of the columns in ``left`` are left-aligned (names), the rest right (numbers)."""

    def cell(tag: str, i: int, value: Any) -> str:
        css = ' class="left"' if i in left else ""
        return f"<{tag}{css}>{value}</{tag}>"

    head = "".join(cell("th", i, html.escape(str(h))) for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table>{f'<tr>{head}</tr>' if any(header) else ''}{body}</table>"


def counts_table(counts: dict[str, dict[str, int]], classes: Sequence[str]) -> str:
    splits = list(counts)
    rows = [[html.escape(name), *(counts[s][name] for s in splits)] for name in classes]
    rows.append(["<b>all</b>", *(sum(counts[s].values()) for s in splits)])
    return table_html(["class", *splits], rows, left=(0,))


def stats_rows(stats: dict[str, Any]) -> list[list[Any]]:
    def spread(key: str) -> str:
        value = stats[key]
        return "" if value is None else f"{value['min']} / {value['median']:g} / {value['max']}"

    formats = ", ".join(f"{name} {n}" for name, n in stats["formats"].items())
    common = ", ".join(f"{size} ({n})" for size, n in stats["common_sizes"].items())
    return [
        ["images", stats["images"]],
        ["formats", html.escape(formats)],
        ["width min / median / max", spread("width")],
        ["height min / median / max", spread("height")],
        ["most common sizes", html.escape(common)],
        ["unreadable", stats["unreadable"]],
        ["shorter side below the training image size", stats["below_image_size"]],
    ]


def section(title: str, body: str) -> str:
    return f"<h2>{html.escape(title)}</h2>\n{body}"


def missing(text: str) -> str:
    return f'<p class="missing">{html.escape(text)}</p>'


def write_report(
    output: Path,
    summary: dict[str, Any],
    groups: Sequence[tuple[str, Sequence[Tile]]],
    conflicts: Sequence[tuple[str, Sequence[Tile]]],
    leaks: Sequence[tuple[Tile, Tile, int]],
    issues: Sequence[dict[str, Any]] | None,
) -> Path:
    """Write ``{output}/audit.html`` (and ``label_issues.png`` when there are label issues).

    ``groups`` and ``conflicts``: (heading, row of tiles), largest first; ``leaks``: (test tile, train tile,
    distance); ``issues``: label_issues.csv's rows as dicts, ranked, or None without ``--cv``.
    """
    thumbnails = Thumbnails(output)
    classes = summary["classes"]
    data = summary["data"]
    grouping = summary["groups"]
    parts = [section("Images per class and split", counts_table(summary["counts"], classes))]
    parts.append(table_html(["labelled images", ""], stats_rows(data), left=(0,)))
    if data["unreadable_files"]:
        rows = [[html.escape(Path(u["file"]).name), html.escape(u["error"])] for u in data["unreadable_files"]]
        parts.append(section("Unreadable files", table_html(["file", "error"], rows, left=(0, 1))))
    crossing = grouping["groups_crossing_folds"]
    crossing_text = "n/a" if crossing is None else str(crossing)
    group_rows = [
        ["groups (images without a duplicate count as one each)", grouping["groups"]],
        ["groups with duplicates", grouping["duplicate_groups"]],
        ["images in them", grouping["images_in_duplicate_groups"]],
        ["groups of identical files", grouping["exact_duplicate_groups"]],
        ["groups with more than one label (conflicts)", grouping["conflicts"]],
        [f"groups split across the folds of cv --folds={grouping['folds']} without --groups", crossing_text],
    ]
    parts.append(
        section(
            f"Duplicate groups (pHash distance <= {summary['threshold']})", table_html(["", ""], group_rows, left=(0,))
        )
    )
    parts.append(
        f'<p class="meta">{html.escape(grouping["folds_note"])}; '
        "train with <code>cv --groups=groups.txt</code> to keep every group in one fold</p>"
    )
    if groups:
        parts.extend(f"<h3>{html.escape(head)}</h3>{tiles_html(row, thumbnails)}" for head, row in groups)
    else:
        parts.append(missing("no duplicates at this threshold"))
    parts.append(section("Label conflicts (one group, several labels)", ""))
    if conflicts:
        parts.extend(f"<h3>{html.escape(head)}</h3>{tiles_html(row, thumbnails)}" for head, row in conflicts)
    else:
        parts.append(missing("no conflicts"))
    parts.append(section("Train/test leaks", leaks_html(summary, leaks, thumbnails)))
    parts.append(section("Label issues", issues_html(output, summary, issues, thumbnails)))
    files = [
        name
        for name in (
            "summary.json",
            "groups.txt",
            "duplicates.csv",
            "conflicts.csv",
            "leaks.csv",
            "label_issues.csv",
            "label_issues.png",
        )
        if (output / name).is_file()
    ]
    links = " &middot; ".join(f'<a href="{name}">{name}</a>' for name in files)
    title = f"audit of {summary['data_dir']}"
    updated = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>{PAGE_STYLE}</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p class="meta">{html.escape(summary["source"])} &middot; {len(classes)} classes: {html.escape(", ".join(classes))}
&middot; updated {updated}</p>
{chr(10).join(parts)}
<p class="meta">files: {links}</p>
</body>
</html>
"""
    path = output / "audit.html"
    write_text_atomic(path, page)
    return path


def leaks_html(summary: dict[str, Any], leaks: Sequence[tuple[Tile, Tile, int]], thumbnails: Thumbnails) -> str:
    test = summary.get("test")
    if test is None:
        return missing("no test images given (--test=DIR)")
    intro = (
        f"<p>{test['leaks']} of {test['images']} test images in {html.escape(test['dir'])} are within "
        f"{summary['threshold']} bits of a labelled image ({test['unreadable']} unreadable).</p>"
    )
    if not leaks:
        return intro
    rows = [
        [tiles_html([a], thumbnails), tiles_html([b], thumbnails), distance] for a, b, distance in leaks[:SHOW_ROWS]
    ]
    more = f'<p class="meta">{len(leaks) - SHOW_ROWS} more in leaks.csv</p>' if len(leaks) > SHOW_ROWS else ""
    return intro + table_html(["test image", "labelled image", "distance"], rows, left=(0, 1)) + more


def issues_html(
    output: Path, summary: dict[str, Any], issues: Sequence[dict[str, Any]] | None, thumbnails: Thumbnails
) -> str:
    from ignite_fire.pictures.drawing import GalleryItem, plot_gallery
    from ignite_fire.pictures.fonts import label_fonts

    info = summary.get("label_issues")
    if info is None or issues is None:
        return missing("no cv directory given (--cv=CV_DIR): label issues come from its out-of-fold probabilities")
    intro = (
        f"<p>{info['flagged']} of {info['oof_images']} out-of-fold images flagged by {html.escape(info['method'])}"
        f" (cv directory {html.escape(info['cv_dir'])}).</p>"
    )
    if not issues:
        return intro
    fonts = label_fonts(summary["classes"])
    items = []
    for issue in issues[:GALLERY_SIZE]:
        image = thumbnails.array(issue["path"])
        if image is not None:
            items.append(
                GalleryItem(image, issue["given_label"], issue["suggested_label"], issue["suggested_probability"])
            )
    gallery = ""
    if items:
        plot_gallery(
            items,
            output / "label_issues.png",
            title="label issues: true = given label, pred = suggested",
            fonts=fonts,
            columns=min(6, len(items)),
        )
        gallery = '<a href="label_issues.png"><img src="label_issues.png" alt="label issues"></a>'
    rows = [
        [
            issue["rank"],
            html.escape(Path(issue["file"]).name),
            html.escape(issue["given_label"]),
            html.escape(issue["suggested_label"]),
            f"{issue['score']:.3f}",
        ]
        for issue in issues[:SHOW_ROWS]
    ]
    table = table_html(["rank", "file", "given", "suggested", "score (p of given)"], rows, left=(1, 2, 3))
    return intro + gallery + table
