"""Where the labelled images come from: class folders, a Tianchi label file, or a CSV.

:func:`load_labelled_images` looks at ``data_dir`` (``label_file`` names a
label file explicitly):

* **Tianchi**: ``train.txt`` with ``file_name<TAB>label`` lines (labels are class names such as
  高风险) and the images in ``train/`` (or beside the file); optionally ``val.txt`` + ``val/``.
* **CSV**: ``train.csv`` with ``path,label`` rows (a header row is allowed), paths relative to
  the CSV's folder; optionally ``val.csv``.
* **ImageFolder**: ``train/<class>/*`` and optionally ``val/<class>/*``, or ``<class>/*`` directly.

Label files are UTF-8 (a BOM is fine). The class list is ``classes`` when the experiment
names it (then every label must be one of those classes), else the sorted labels / folder names.
Every mistake in the data is one :class:`~ignite_fire.errors.UserError` naming the file and the
first few offending entries.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ignite_fire.config import Data
from ignite_fire.data.images import BadImageError, is_image_file, load_image
from ignite_fire.errors import UserError

logger = logging.getLogger("ignite_fire")

LABEL_FILE_NAMES = ("train.txt", "train.csv")
SHOW = 5  # how many offending entries an error message lists
HEADER_LABELS = ("label", "labels", "class", "category")  # a first row with this label is a header

Labelled = tuple[str, str]  # (image path, class name)


@dataclass
class LabelledImages:
    """Images with class names, before they become class indices."""

    train: list[Labelled]
    val: list[Labelled] | None  # None: no given validation set (split the training images)
    classes: list[str]
    description: str  # where they came from, for the log


def check_data_dir(data_dir: str | Path) -> Path:
    root = Path(data_dir).expanduser()
    if not root.exists():
        raise UserError(f"data_dir not found: {root} (pass --data_dir=PATH to your images)")
    if not root.is_dir():
        raise UserError(f"data_dir is not a folder: {root}")
    try:
        next(root.iterdir(), None)
    except PermissionError as error:
        raise UserError(f"data_dir is not readable: {root} ({error.strerror})") from error
    return root


def _shown(items: Sequence[str]) -> str:
    more = f", ... ({len(items)} in all)" if len(items) > SHOW else ""
    return ", ".join(items[:SHOW]) + more


# ---------------------------------------------------------------------------------------------
# Label files


def read_utf8(path: Path) -> str:
    """The text of ``path``; a file that is not UTF-8 is a one-line error saying where."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise UserError(
            f"{path} is not UTF-8 text (byte 0x{data[error.start]:02x} on line {line}); "
            "save it as UTF-8, e.g. iconv -f GBK -t UTF-8"
        ) from error


def parse_label_file(path: Path) -> list[tuple[int, str, str]]:
    """``(line number, file name, label)`` for every non-blank line of a ``.txt`` or ``.csv`` label file.

    ``.txt``: ``file_name<TAB>label`` (or separated by spaces when there is no tab);
    ``.csv``: ``path,label``. A first row whose label is ``label`` (or class, category) is a header.
    """
    text = read_utf8(path)
    entries: list[tuple[int, str, str]] = []
    if path.suffix.lower() == ".csv":
        rows = list(csv.reader(io.StringIO(text)))
        for number, row in enumerate(rows, start=1):
            fields = [field.strip() for field in row]
            if not any(fields):
                continue
            if not entries and len(fields) >= 2 and fields[1].lower() in HEADER_LABELS:
                continue  # a header row
            if len(fields) < 2 or not fields[0] or not fields[1]:
                raise UserError(f"{path} line {number}: expected 'path,label', got {','.join(row)!r}")
            entries.append((number, fields[0], fields[1]))
        return entries
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t") if "\t" in line else line.strip().rsplit(None, 1)
        if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
            raise UserError(f"{path} line {number}: expected 'file_name<TAB>label', got {line!r}")
        if not entries and fields[1].strip().lower() in HEADER_LABELS:
            continue  # a header row
        entries.append((number, fields[0].strip(), fields[1].strip()))
    return entries


def image_dirs_for(label_file: Path) -> list[Path]:
    """Where a label file's relative names are looked up: the folder named like it (``train.txt`` ->
    ``train/``), its own folder, and ``train/`` beside it."""
    parent = label_file.parent
    candidates = [parent / label_file.stem, parent, parent / "train"]
    return [d for i, d in enumerate(candidates) if d.is_dir() and d not in candidates[:i]]


def read_label_file(path: Path, classes: Sequence[str] | None) -> list[Labelled]:
    """The ``(image path, class name)`` pairs of label file ``path``, checked against ``classes``.

    Errors (each listing the first few entries): unknown classes (when ``classes`` is given),
    files that do not exist, a file listed twice, no entries at all.
    """
    entries = parse_label_file(path)
    if not entries:
        raise UserError(f"{path} has no labelled images (expected lines of file_name<TAB>label)")
    if classes is not None:
        unknown: dict[str, int] = {}
        for number, _, label in entries:
            if label not in classes:
                unknown.setdefault(label, number)
        if unknown:
            shown = _shown([f"{label!r} (line {number})" for label, number in unknown.items()])
            raise UserError(
                f"{path} has labels that are not classes of this experiment: {shown}; the classes are "
                f"{', '.join(classes)} (set --classes=None to take the classes from the labels)"
            )
    dirs = image_dirs_for(path)
    samples: list[Labelled] = []
    missing: list[str] = []
    first_line: dict[str, int] = {}
    for number, name, label in entries:
        candidates = [Path(name)] if Path(name).is_absolute() else [folder / name for folder in dirs]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            missing.append(f"{name} (line {number})")
            continue
        key = str(found.resolve())
        if key in first_line:
            raise UserError(f"{path} lists {name} twice (lines {first_line[key]} and {number})")
        first_line[key] = number
        samples.append((str(found), label))
    if missing:
        where = " or ".join(str(d) for d in dirs)
        raise UserError(f"{path} lists {len(missing)} images that do not exist in {where}: {_shown(missing)}")
    return samples


def find_label_file(root: Path, given: str | None) -> Path | None:
    """The ``label_file`` given (relative to data_dir or the working directory), else train.txt/train.csv."""
    if given:
        for candidate in (root / given, Path(given).expanduser()):
            if candidate.is_file():
                return candidate
        raise UserError(f"--label_file={given}: no such file in {root} or the working directory")
    return next((root / name for name in LABEL_FILE_NAMES if (root / name).is_file()), None)


def check_class_counts(samples: Sequence[Labelled], classes: Sequence[str], where: Path | str) -> None:
    if len(classes) == 1:
        raise UserError(
            f"{where} has a single class, {classes[0]!r} ({len(samples)} images): a classifier needs at least "
            "2 classes; add the images of the other classes"
        )
    present = {label for _, label in samples}
    empty = [name for name in classes if name not in present]
    if empty:
        raise UserError(f"class {empty[0]!r} has no images in {where}; add images or remove the class")


def from_label_file(path: Path, wanted: Sequence[str] | None) -> LabelledImages:
    train = read_label_file(path, wanted)
    classes = list(wanted) if wanted is not None else sorted({label for _, label in train})
    check_class_counts(train, classes, path)
    val_path = path.with_name("val" + path.suffix) if path.stem == "train" else None
    val = read_label_file(val_path, classes) if val_path is not None and val_path.is_file() else None
    if val:
        shared = {str(Path(p).resolve()) for p, _ in train} & {str(Path(p).resolve()) for p, _ in val}
        if shared:
            names = sorted(Path(p).name for p in shared)
            raise UserError(f"{path} and {val_path} list the same images: {_shown(names)}")
    kind = "CSV" if path.suffix.lower() == ".csv" else "label file"
    return LabelledImages(train, val, classes, f"{kind} {path}" + (f" + {val_path.name}" if val and val_path else ""))


# ---------------------------------------------------------------------------------------------
# Class folders (ImageFolder)


def scan_class_folders(root: Path) -> dict[str, list[str]]:
    """``{class name: sorted image paths}`` for every sub-folder of ``root``."""
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    return {folder.name: sorted(str(p) for p in folder.rglob("*") if is_image_file(p)) for folder in folders}


def resolve_classes(found: Sequence[str], wanted: Sequence[str] | None, where: Path) -> list[str]:
    """The class list: ``wanted`` if given (the data must match it exactly), else ``found`` sorted."""
    if wanted is None:
        return sorted(found)
    unknown = sorted(set(found) - set(wanted))
    if unknown:
        raise UserError(
            f"{where} has classes {unknown} that the experiment does not name (it expects {list(wanted)}); "
            "fix the data or set --classes=None to take the classes from the data"
        )
    return list(wanted)


def from_class_folders(root: Path, wanted: Sequence[str] | None) -> LabelledImages:
    train_root = root / "train" if (root / "train").is_dir() else root
    by_class = scan_class_folders(train_root)
    if not by_class or not any(by_class.values()):
        loose = any(is_image_file(p) for p in train_root.iterdir())
        hint = f" (images directly in {train_root} need a label file: {root}/train.txt)" if loose else ""
        raise UserError(
            f"no images found in {train_root}: expected {train_root}/<class name>/<image files>, "
            f"train.txt with train/, or train.csv{hint}"
        )
    classes = resolve_classes(list(by_class), wanted, train_root)
    train = [(p, name) for name in classes for p in by_class.get(name, [])]
    check_class_counts(train, classes, train_root)
    val = None
    if (root / "val").is_dir():
        val_folders = scan_class_folders(root / "val")
        resolve_classes(list(val_folders), classes, root / "val")
        val = [(p, name) for name in classes for p in val_folders.get(name, [])]
        if not val:
            raise UserError(f"no images found in {root / 'val'}: expected {root / 'val'}/<class name>/<image files>")
    return LabelledImages(train, val, classes, f"class folders in {train_root}" + (" + val/" if val else ""))


def load_labelled_images(data: Data) -> LabelledImages:
    """The labelled images under ``data.data_dir`` (see the module docstring), less ``data.exclude``."""
    root = check_data_dir(data.data_dir)
    label_file = find_label_file(root, data.label_file)
    if label_file is not None:
        found = from_label_file(label_file, data.classes)
    else:
        found = from_class_folders(root, data.classes)
    return drop_excluded(found, data.exclude)


# ---------------------------------------------------------------------------------------------
# --exclude=FILE


def drop_excluded(data: LabelledImages, exclude: str | None) -> LabelledImages:
    """``data`` without the images named in ``exclude`` (file names, one a line, matched on the last path
    component as ``--groups`` is; blank lines and ``#`` comments are skipped), e.g. ``audit --write_excluded``."""
    if not exclude:
        return data
    path = Path(exclude).expanduser()
    if not path.is_file():
        raise UserError(f"--exclude file not found: {path} (file names to leave out, one a line)")
    names = {Path(line.strip()).name for line in read_utf8(path).splitlines() if line.strip() and line[:1] != "#"}
    train = [sample for sample in data.train if Path(sample[0]).name not in names]
    val = None if data.val is None else [sample for sample in data.val if Path(sample[0]).name not in names]
    left_out = len(data.train) + len(data.val or []) - len(train) - len(val or [])
    check_class_counts(train, data.classes, f"{data.description} less --exclude={exclude}")
    logger.info(f"exclude: left out {left_out} of the {len(names)} images named in {path}")
    return LabelledImages(train, val, data.classes, f"{data.description} less {left_out} excluded")


# ---------------------------------------------------------------------------------------------
# Unreadable images


def find_unreadable(paths: Sequence[str], workers: int = 4, draft_size: int = 64) -> list[tuple[str, str]]:
    """``(path, reason)`` of every image in ``paths`` that does not decode (JPEGs decode at reduced size)."""

    def check(path: str) -> tuple[str, str] | None:
        try:
            load_image(path, draft_size=draft_size)
        except BadImageError as error:
            return path, str(error)
        return None

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return [result for result in pool.map(check, paths) if result is not None]


def drop_unreadable(samples: Sequence[Any], workers: int = 4) -> list[Any]:
    """``samples`` (tuples whose first item is a path) without the images that do not decode; logs how many."""
    bad = find_unreadable([sample[0] for sample in samples], workers)
    if not bad:
        return list(samples)
    bad_paths = {path for path, _ in bad}
    logger.info(
        f"skipped {len(bad)} unreadable image{'s' if len(bad) > 1 else ''} (--on_bad_image=skip): "
        + _shown([Path(path).name for path, _ in bad])
    )
    return [sample for sample in samples if sample[0] not in bad_paths]
