"""The audit in one call: read the labelled data as training reads it, hash, group, match, rank, write.

    audit("data/tianchi", test="data/tianchi/A", cv="runs/cv5")   # writes data/tianchi-audit/

Writes into ``output`` (default ``{data_dir}-audit`` beside the data; never inside the data):
``groups.txt`` (for ``cv --groups``), ``duplicates.csv``, ``conflicts.csv``, ``leaks.csv`` (with
``test``), ``label_issues.csv`` (with ``cv``), ``summary.json`` and ``audit.html``.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ignite_fire.audit.duplicates import Group, distance_to, duplicate_groups, write_groups_file
from ignite_fire.audit.hashing import ImageInfo, hash_images, require
from ignite_fire.audit.label_issues import METHOD, LabelIssue, find_label_issues_in, read_cv_oof
from ignite_fire.audit.leaks import Leak, find_leaks
from ignite_fire.audit.report import SHOW_GROUPS, SHOW_PER_GROUP, Tile, write_report
from ignite_fire.audit.summary import class_counts, group_stats, image_stats
from ignite_fire.competition.oof import OOF
from ignite_fire.config import DEFAULTS, RunConfig
from ignite_fire.data.sources import check_data_dir, load_labelled_images
from ignite_fire.errors import UserError
from ignite_fire.files import write_json_atomic, write_text_atomic

logger = logging.getLogger("ignite_fire")

Labelled = tuple[str, str]
ISSUE_COLUMNS = ["rank", "file", "given_label", "suggested_label", "score", "suggested_probability", "fold"]
DEFAULT_THRESHOLD = 8  # of 64 pHash bits: re-encodes and resizes are 0-4 apart, different photos 20+


def output_dir_for(root: Path, output: str | None) -> Path:
    """``output``, or ``{data_dir}-audit`` beside the data; an output inside the data is refused."""
    path = Path(output).expanduser() if output else root.resolve().parent / f"{root.resolve().name}-audit"
    if path.resolve().is_relative_to(root.resolve()):
        raise UserError(f"--output={path} is inside the data folder {root}: the audit never writes into the data")
    return path


def check_outside(path: Path, root: Path, option: str) -> None:
    if path.resolve().is_relative_to(root.resolve()):
        raise UserError(f"{option}={path} is inside the data folder {root}: the audit never writes into the data")


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_text_atomic(path, buffer.getvalue())


def test_paths(test: str) -> list[str]:
    """Every image under ``test``, sorted (as ``predict --input`` lists them)."""
    from ignite_fire.inference.predict import list_images

    root = Path(test).expanduser()
    if not root.is_dir():
        raise UserError(f"--test={test} is not a folder (pass the folder of test images, e.g. A/)")
    return [str(root / name) for name in list_images(root, None)]


def match_oof_files(issues: Sequence[LabelIssue], samples: Sequence[Labelled]) -> list[str]:
    """The audited image each oof.csv file is (by resolved path, else by file name): thumbnails need a file."""
    by_path = {str(Path(p).resolve()): p for p, _ in samples}
    by_name = {Path(p).name: p for p, _ in samples}
    return [by_path.get(str(Path(i.file).resolve())) or by_name.get(Path(i.file).name) or i.file for i in issues]


def check_options(threshold: int, folds: int, cv: str | None, write_excluded: str | None, data_dir: str) -> None:
    """The options a user can get wrong, each a one-line UserError before anything is read or hashed."""
    if isinstance(threshold, bool) or not isinstance(threshold, int) or not 0 <= threshold <= 64:
        raise UserError(f"--threshold must be an integer 0..64 (pHash bits that may differ), got {threshold!r}")
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise UserError(f"--folds must be an integer >= 2, got {folds!r}")
    require("imagehash")
    if cv is not None:
        require("cleanlab")
    if write_excluded:
        check_outside(Path(write_excluded).expanduser(), check_data_dir(data_dir), "--write_excluded")


def write_excluded_names(given: str, names: set[str], with_issues: bool) -> dict[str, Any]:
    """``--write_excluded``: the flagged file names, one a line (what ``--exclude`` reads); the summary's entry."""
    ordered = sorted(names)
    write_text_atomic(Path(given).expanduser(), "".join(f"{name}\n" for name in ordered))
    what = "every image of a conflict group" + (" and every label issue" if with_issues else "")
    return {"file": given, "images": len(ordered), "what": what}


def write_groups(
    out: Path,
    infos: Sequence[ImageInfo],
    groups: Sequence[Group],
    samples: Sequence[Labelled],
    splits: Mapping[str, Sequence[Labelled]],
) -> tuple[list[Group], list[Group]]:
    """groups.txt (for ``cv --groups``), duplicates.csv and conflicts.csv; returns (duplicated, conflicting)."""
    write_groups_file(out / "groups.txt", infos, groups)
    split_of = {path: split for split, part in splits.items() for path, _ in part}
    duplicated = [g for g in groups if g.size > 1]
    conflicting = [g for g in duplicated if len({samples[k][1] for k in g.members}) > 1]
    write_group_rows(out / "duplicates.csv", duplicated, infos, samples, split_of)
    write_group_rows(out / "conflicts.csv", conflicting, infos, samples, split_of)
    return duplicated, conflicting


def audit(
    data_dir: str,
    test: str | None = None,
    cv: str | None = None,
    output: str | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    image_size: int = 224,
    folds: int = 5,
    seed: int = 42,
    label_file: str | None = None,
    classes: list[str] | None = None,
    write_excluded: str | None = None,
    workers: int | None = None,
) -> Path:
    """Audit DATA_DIR: near-duplicate groups (groups.txt for cv --groups), conflicts, leaks, label issues, audit.html.

    Args:
        data_dir: the labelled images, in any layout training reads (class folders, train.txt, train.csv).
        test: a folder of test images: those that nearly duplicate a labelled image are leaks (leaks.csv).
        cv: a cv directory: its oof.csv ranks the likely wrong labels (label_issues.csv, cleanlab).
        output: the folder written (default: {data_dir}-audit beside the data; never inside the data).
        threshold: pHash bits (of 64) that may differ between two images of one group.
        image_size: the training image size: smaller images are counted.
        folds: the folds of the cv whose straddling groups are counted.
        seed: the seed of that cv.
        label_file: as the training key: a label file other than data_dir/train.txt or train.csv.
        classes: as the training key: the class list (default: from the data).
        write_excluded: write the flagged file names (conflict groups, label issues) here, for --exclude.
        workers: hashing processes (default: the cores this process may use).

    Returns the output folder.
    """
    check_options(threshold, folds, cv, write_excluded, data_dir)
    out = output_dir_for(check_data_dir(data_dir), output)
    keys = {**DEFAULTS, "data_dir": str(data_dir), "label_file": label_file, "classes": classes}
    data = load_labelled_images(RunConfig.from_dict(keys).data)
    samples: list[Labelled] = data.train + (data.val or [])
    tests = test_paths(test) if test is not None else None  # the inputs are checked before the hashing
    oof = read_cv_oof(cv) if cv is not None else None
    if oof is not None and not {Path(f).name for f in oof.files} & {Path(p).name for p, _ in samples}:
        raise UserError(f"--cv={cv}: its oof.csv names none of the images in {data_dir}: is it a cv of this data?")
    splits = {"train": data.train} | ({"val": data.val} if data.val else {})
    logger.info(f"audit: {data.description}: {len(samples)} labelled images, {len(data.classes)} classes")
    infos = hash_images([path for path, _ in samples], workers)
    groups = duplicate_groups(infos, threshold)
    summary: dict[str, Any] = {
        "data_dir": str(data_dir),
        "source": data.description,
        "classes": data.classes,
        "threshold": threshold,
        "image_size": image_size,
        "counts": class_counts(splits, data.classes),
        "data": image_stats(infos, image_size),
        "groups": group_stats(groups, samples, folds, seed, data.classes),
    }
    out.mkdir(parents=True, exist_ok=True)
    # A re-run into the same folder without --test or --cv must not leave the last run's leaks or label
    # issues beside this run's summary, as if they were this run's findings.
    for stale, written in (("leaks.csv", tests is not None), ("label_issues.csv", oof is not None)):
        if not written:
            (out / stale).unlink(missing_ok=True)
    duplicated, conflicting = write_groups(out, infos, groups, samples, splits)
    leak_tiles: list[tuple[Tile, Tile, int]] = []
    if tests is not None:
        summary["test"], leak_tiles = audit_leaks(out, str(test), tests, infos, samples, threshold, image_size, workers)
    issue_rows: list[dict[str, Any]] | None = None
    excluded: set[str] = {Path(samples[k][0]).name for g in conflicting for k in g.members}
    if oof is not None:
        summary["label_issues"], issue_rows = audit_label_issues(out, oof, str(cv), samples)
        excluded |= {Path(row["file"]).name for row in issue_rows}
    if write_excluded:
        summary["excluded"] = write_excluded_names(write_excluded, excluded, with_issues=cv is not None)
    write_json_atomic(out / "summary.json", summary)
    page = write_report(
        out,
        summary,
        group_tiles(duplicated[:SHOW_GROUPS], samples, infos),
        group_tiles(conflicting, samples, infos),
        leak_tiles,
        issue_rows,
    )
    log_summary(summary, out, page)
    return out


def audit_leaks(
    out: Path,
    test_dir: str,
    tests: Sequence[str],
    infos: Sequence[ImageInfo],
    samples: Sequence[Labelled],
    threshold: int,
    image_size: int,
    workers: int | None,
) -> tuple[dict[str, Any], list[tuple[Tile, Tile, int]]]:
    """Hash the test images, write leaks.csv; the summary's "test" entry and the page's leak rows."""
    test_infos = hash_images(tests, workers, what="test images")
    leaks = find_leaks(test_infos, infos, threshold)
    write_leaks(out / "leaks.csv", leaks, test_infos, samples)
    summary = {
        "dir": test_dir,
        "images": len(test_infos),
        "unreadable": sum(1 for i in test_infos if i.error is not None),
        "leaks": len(leaks),
        "exact_leaks": sum(1 for leak in leaks if leak.exact),
        "data": image_stats(test_infos, image_size),
    }
    tiles = []
    for leak in leaks:
        test_path = test_infos[leak.test].path
        path, label = samples[leak.train]
        tiles.append(
            (Tile(test_path, (Path(test_path).name, "test")), Tile(path, (label, Path(path).name)), leak.distance)
        )
    return summary, tiles


def audit_label_issues(
    out: Path, oof: OOF, cv: str, samples: Sequence[Labelled]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Rank the label issues of ``oof``, write label_issues.csv; the summary's entry and the rows, ranked."""
    issues = find_label_issues_in(oof)
    rows = [
        {
            "rank": rank,
            "file": issue.file,
            "given_label": issue.given,
            "suggested_label": issue.suggested,
            "score": round(issue.score, 6),
            "suggested_probability": round(issue.suggested_probability, 6),
            "fold": issue.fold,
        }
        for rank, issue in enumerate(issues, start=1)
    ]
    write_csv(out / "label_issues.csv", ISSUE_COLUMNS, [[row[c] for c in ISSUE_COLUMNS] for row in rows])
    for row, path in zip(rows, match_oof_files(issues, samples), strict=True):
        row["path"] = path  # the audited file, for the thumbnails (not a column of the CSV)
    pairs = Counter((i.given, i.suggested) for i in issues).most_common()
    summary = {
        "cv_dir": cv,
        "method": METHOD,
        "oof_images": len(oof.files),
        "flagged": len(issues),
        "by_given_and_suggested": {f"{given} -> {suggested}": n for (given, suggested), n in pairs},
    }
    return summary, rows


def write_group_rows(
    path: Path,
    groups: Sequence[Group],
    infos: Sequence[ImageInfo],
    samples: Sequence[Labelled],
    split_of: dict[str, str],
) -> None:
    """One row per image of ``groups``: group, size, file, label, split, distance to the first image, same file."""
    rows = []
    for group in groups:
        first = group.members[0]
        for k in group.members:
            path_k, label = samples[k]
            distance = distance_to(infos, first, k)
            rows.append(
                [
                    group.name,
                    group.size,
                    path_k,
                    label,
                    split_of[path_k],
                    "" if distance is None else distance,
                    infos[k].digest == infos[first].digest,
                ]
            )
    write_csv(path, ["group", "size", "file", "label", "split", "distance", "same_file_as_first"], rows)


def write_leaks(path: Path, leaks: Sequence[Leak], test: Sequence[ImageInfo], samples: Sequence[Labelled]) -> None:
    rows = [
        [test[leak.test].path, samples[leak.train][0], samples[leak.train][1], leak.distance, leak.exact]
        for leak in leaks
    ]
    write_csv(path, ["test_file", "train_file", "train_label", "distance", "same_file"], rows)


def group_tiles(
    groups: Sequence[Group], samples: Sequence[Labelled], infos: Sequence[ImageInfo]
) -> list[tuple[str, list[Tile]]]:
    """Each group's heading (name, size, labels) and its first images, captioned label, file name, distance."""
    rows = []
    for group in groups:
        labels = sorted({samples[k][1] for k in group.members})
        heading = f"{group.name}: {group.size} images, labels {', '.join(labels)}"
        first = group.members[0]
        tiles = [
            Tile(samples[k][0], (samples[k][1], Path(samples[k][0]).name, f"distance {distance_to(infos, first, k)}"))
            for k in group.members[:SHOW_PER_GROUP]
        ]
        rows.append((heading, tiles))
    return rows


def log_summary(summary: dict[str, Any], out: Path, page: Path) -> None:
    grouping = summary["groups"]
    data = summary["data"]
    lines = [
        f"audit: {data['images']} labelled images, {data['unreadable']} unreadable, "
        f"{data['below_image_size']} below {summary['image_size']} px",
        f"audit: {grouping['duplicate_groups']} duplicate groups ({grouping['images_in_duplicate_groups']} images), "
        f"{grouping['conflicts']} with conflicting labels; {grouping['groups_crossing_folds']} of them cross "
        f"the {grouping['folds']} plain stratified folds",
    ]
    if "test" in summary:
        lines.append(f"audit: {summary['test']['leaks']} of {summary['test']['images']} test images leak")
    if "label_issues" in summary:
        info = summary["label_issues"]
        lines.append(f"audit: {info['flagged']} label issues in {info['oof_images']} OOF images")
    if "excluded" in summary:
        lines.append(f"audit: {summary['excluded']['images']} names in {summary['excluded']['file']} (--exclude)")
    lines.append(f"audit: wrote {out} ({page.name}, groups.txt for cv --groups={out / 'groups.txt'})")
    for line in lines:
        logger.info(line)
