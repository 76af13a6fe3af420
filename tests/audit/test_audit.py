"""The audit command on planted problems: re-encoded duplicates are grouped, leaks and conflicts are found,
flipped labels rank high among the label issues of a real cv, cv --groups reads groups.txt, and nothing is
written into the data folder. audit.html is checked in headless Chromium (skipped without it)."""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from ignite_fire.audit.hashing import hash_images
from ignite_fire.audit.run import audit
from ignite_fire.competition.crossval import cross_validate as cv
from ignite_fire.competition.crossval import log_wandb_summary
from ignite_fire.config import DEFAULTS, RunConfig
from ignite_fire.data.groups import read_groups
from ignite_fire.data.sources import load_labelled_images
from ignite_fire.data.splits import split_samples
from ignite_fire.errors import UserError
from tests.browser import Chromium, find_chromium
from tests.helpers import run_cli
from tests.tianchi_data import HOUSES_TO_TIANCHI, images_in

PER_CLASS = 10
DIGITS_EXPERIMENT = Path(__file__).with_name("digits_experiment.py")


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def listing(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and modification time."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


def reencode(source: Path, target: Path, quality: int, scale: float) -> None:
    """A copy of ``source`` at another JPEG quality and size: what a second upload of one photo looks like."""
    with Image.open(source) as image:
        image = image.convert("RGB")
        size = (round(image.width * scale), round(image.height * scale))
        image.resize(size, Image.Resampling.BICUBIC).save(target, quality=quality)


@dataclass
class Planted:
    root: Path  # Tianchi layout: train.txt + train/, test images in A/
    duplicates: list[set[str]]  # file names that must share a group (same label)
    conflicts: list[set[str]]  # file names that must share a group (different labels)
    leaks: dict[str, str]  # test file name -> the training file it copies
    clean_test: set[str]  # test images that copy nothing
    broken: str  # a training file that does not decode
    tiny: str  # a training image below the image size


@pytest.fixture(scope="module")
def planted(houses4: Path, tmp_path_factory: pytest.TempPathFactory) -> Planted:
    """40 houses4 photos in the Tianchi layout, with re-encoded duplicates, a conflict, leaks, a broken file."""
    root = tmp_path_factory.mktemp("planted") / "tianchi"
    (root / "train").mkdir(parents=True)
    (root / "A").mkdir()
    lines: list[str] = []
    originals: dict[str, list[str]] = {}
    for folder, label in HOUSES_TO_TIANCHI.items():
        for i, source in enumerate(images_in(houses4 / "train" / folder)[:PER_CLASS]):
            name = f"{'图片' if i % 3 == 0 else 'img'}_{folder}_{i:02d}.jpg"
            shutil.copyfile(source, root / "train" / name)
            lines.append(f"{name}\t{label}")
            originals.setdefault(folder, []).append(name)
    labels = list(HOUSES_TO_TIANCHI.values())
    train = root / "train"
    # Duplicates with the same label: one pair, and one photo uploaded three times.
    reencode(train / originals["bathroom"][1], train / "dup_bathroom_1.jpg", quality=50, scale=0.75)
    reencode(train / originals["kitchen"][2], train / "dup_kitchen_2a.jpg", quality=60, scale=0.6)
    reencode(train / originals["kitchen"][2], train / "dup_kitchen_2b.jpg", quality=40, scale=0.9)
    lines += [
        f"dup_bathroom_1.jpg\t{labels[0]}",
        f"dup_kitchen_2a.jpg\t{labels[2]}",
        f"dup_kitchen_2b.jpg\t{labels[2]}",
    ]
    # A conflict: a bedroom photo again, labelled as a kitchen.
    reencode(train / originals["bedroom"][3], train / "again_bedroom_3.jpg", quality=70, scale=0.8)
    lines.append(f"again_bedroom_3.jpg\t{HOUSES_TO_TIANCHI['kitchen']}")
    (train / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    lines.append(f"broken.jpg\t{labels[0]}")
    with Image.open(images_in(houses4 / "val" / "frontal")[1]) as image:  # a photo that is not in train/
        image.convert("RGB").resize((90, 60)).save(train / "tiny.jpg", quality=90)
    lines.append(f"tiny.jpg\t{HOUSES_TO_TIANCHI['frontal']}")
    (root / "train.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # The test folder: three re-encoded training photos (leaks) and four photos that are not in training.
    leaks = {}
    for k, folder in enumerate(("bathroom", "frontal", "kitchen")):
        name = f"test_leak_{k}.jpg"
        reencode(train / originals[folder][5], root / "A" / name, quality=55, scale=0.7)
        leaks[name] = originals[folder][5]
    clean = set()
    for k, folder in enumerate(HOUSES_TO_TIANCHI):
        name = f"test_new_{k}.jpg"
        shutil.copyfile(images_in(houses4 / "val" / folder)[0], root / "A" / name)
        clean.add(name)
    return Planted(
        root,
        duplicates=[
            {originals["bathroom"][1], "dup_bathroom_1.jpg"},
            {originals["kitchen"][2], "dup_kitchen_2a.jpg", "dup_kitchen_2b.jpg"},
        ],
        conflicts=[{originals["bedroom"][3], "again_bedroom_3.jpg"}],
        leaks=leaks,
        clean_test=clean,
        broken="broken.jpg",
        tiny="tiny.jpg",
    )


@pytest.fixture(scope="module")
def planted_audit(planted: Planted) -> tuple[Path, dict[str, tuple[int, int]], dict[str, tuple[int, int]]]:
    """The audit of the planted set with its test folder, and the data folder's listing before and after."""
    before = listing(planted.root)
    excluded = planted.root.parent / "excluded.txt"
    out = audit(
        str(planted.root),
        test=str(planted.root / "A"),
        image_size=160,
        folds=3,
        seed=0,
        workers=2,
        write_excluded=str(excluded),
    )
    return out, before, listing(planted.root)


def groups_of(rows: list[dict[str, str]]) -> list[set[str]]:
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row["group"], set()).add(Path(row["file"]).name)
    return sorted(found.values(), key=sorted)


def test_reencoded_duplicates_are_grouped_and_nothing_else(planted: Planted, planted_audit) -> None:
    out, _, _ = planted_audit
    assert out == planted.root.parent / "tianchi-audit"  # the default: beside the data
    found = groups_of(read_csv(out / "duplicates.csv"))
    assert found == sorted(planted.duplicates + planted.conflicts, key=sorted)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["groups"]["duplicate_groups"] == 3
    assert summary["groups"]["images_in_duplicate_groups"] == 7
    assert summary["groups"]["largest"][0]["size"] == 3
    assert summary["data"]["unreadable"] == 1
    assert summary["data"]["unreadable_files"][0]["file"].endswith(planted.broken)
    assert any(
        line.startswith(str(planted.root / "train" / planted.tiny))
        for line in summary["data"]["below_image_size_files"]
    )
    counts = summary["counts"]["train"]
    assert sum(counts.values()) == 4 * PER_CLASS + 6 and counts[HOUSES_TO_TIANCHI["kitchen"]] == PER_CLASS + 3


def test_conflicts_are_listed(planted: Planted, planted_audit) -> None:
    out, _, _ = planted_audit
    rows = read_csv(out / "conflicts.csv")
    assert groups_of(rows) == planted.conflicts
    assert {row["label"] for row in rows} == {HOUSES_TO_TIANCHI["bedroom"], HOUSES_TO_TIANCHI["kitchen"]}


def test_excluded_names_leave_the_training_data(planted: Planted, planted_audit) -> None:
    """--write_excluded names every image of a conflict group; training's --exclude=FILE leaves them out."""
    excluded = planted.root.parent / "excluded.txt"
    names = excluded.read_text(encoding="utf-8").split()
    assert set(names) == set().union(*planted.conflicts)
    full = load_labelled_images(RunConfig.from_dict({**DEFAULTS, "data_dir": str(planted.root)}).data)
    kept = load_labelled_images(
        RunConfig.from_dict({**DEFAULTS, "data_dir": str(planted.root), "exclude": str(excluded)}).data
    )
    assert {Path(p).name for p, _ in full.train} - {Path(p).name for p, _ in kept.train} == set(names)
    assert len(kept.train) == len(full.train) - len(names) and "less 2 excluded" in kept.description
    with pytest.raises(UserError, match="--exclude file not found"):
        load_labelled_images(
            RunConfig.from_dict(
                {**DEFAULTS, "data_dir": str(planted.root), "exclude": str(planted.root / "none.txt")}
            ).data
        )


def test_leaks_are_found_with_their_match(planted: Planted, planted_audit) -> None:
    out, _, _ = planted_audit
    rows = read_csv(out / "leaks.csv")
    found = {Path(row["test_file"]).name: Path(row["train_file"]).name for row in rows}
    assert found == planted.leaks
    assert all(0 <= int(row["distance"]) <= 8 for row in rows)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["test"]["images"] == len(planted.leaks) + len(planted.clean_test)
    assert summary["test"]["leaks"] == len(planted.leaks)


def test_cv_groups_reads_groups_txt_and_no_group_straddles_folds(planted: Planted, planted_audit) -> None:
    out, _, _ = planted_audit
    groups = read_groups(out / "groups.txt")
    data = load_labelled_images(RunConfig.from_dict({**DEFAULTS, "data_dir": str(planted.root)}).data)
    index = {name: i for i, name in enumerate(data.classes)}
    samples = [(path, index[label]) for path, label in data.train]
    assert set(groups) == {Path(p).name for p, _ in samples}  # images without a duplicate have their own group
    assert len(set(groups.values())) == len(samples) - 4  # 7 images in 3 groups
    config = {**DEFAULTS, "folds": 3, "seed": 0, "groups": str(out / "groups.txt")}
    for fold in range(3):
        train, val = split_samples(samples, None, RunConfig.from_dict({**config, "fold": fold}).data, 0, data.classes)
        train_groups = {groups[Path(p).name] for p, _ in train}
        val_groups = {groups[Path(p).name] for p, _ in val}
        assert not train_groups & val_groups
        assert len(train) + len(val) == len(samples)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    # The same 3 folds without --groups split some planted group: that is what the summary counts.
    crossing = 0
    plain = [
        split_samples(samples, None, RunConfig.from_dict({**DEFAULTS, "folds": 3, "fold": k}).data, 0, data.classes)[1]
        for k in range(3)
    ]
    fold_of = {Path(p).name: k for k, part in enumerate(plain) for p, _ in part}
    for group in planted.duplicates + planted.conflicts:
        crossing += len({fold_of[name] for name in group}) > 1
    assert summary["groups"]["groups_crossing_folds"] == crossing


def test_nothing_is_written_into_the_data(planted: Planted, planted_audit) -> None:
    _, before, after = planted_audit
    assert after == before
    with pytest.raises(UserError, match="inside the data folder"):
        audit(str(planted.root), output=str(planted.root / "audit"))
    with pytest.raises(UserError, match="inside the data folder"):
        audit(str(planted.root), output=str(planted.root / "A"), write_excluded=str(planted.root / "x.txt"))
    assert listing(planted.root) == before


# ---------------------------------------------------------------------------------------------
# Label issues from a real cv


FLIPS = 12  # digits moved into another digit's folder


@pytest.fixture(scope="module")
def flipped_cv(digits_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, set[str]]:
    """The digits with FLIPS images moved into the next class's folder, and a finished 2-fold cv on them."""
    data = tmp_path_factory.mktemp("flipped") / "digits"
    shutil.copytree(digits_dir, data)
    chosen = [(sorted((data / "train" / str(k % 10)).glob("*.png"))[k // 10], (k + 1) % 10) for k in range(FLIPS)]
    for source, label in chosen:  # chosen first: a moved image is never chosen again
        source.rename(data / "train" / str(label) / source.name)
    flipped = {source.name for source, _ in chosen}
    assert len(flipped) == FLIPS
    output = tmp_path_factory.mktemp("flipped-cv")
    cv(str(DIGITS_EXPERIMENT), folds=2, data_dir=str(data), output_dir=str(output), name="flip")
    return data, output / "flip", flipped


@pytest.mark.slow
def test_flipped_labels_rank_high_among_label_issues(flipped_cv, tmp_path: Path) -> None:
    data, cv_dir, flipped = flipped_cv
    excluded = tmp_path / "excluded.txt"
    out = audit(str(data), cv=str(cv_dir), output=str(tmp_path / "audit"), write_excluded=str(excluded), workers=1)
    rows = read_csv(out / "label_issues.csv")
    assert [int(r["rank"]) for r in rows] == list(range(1, len(rows) + 1))
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores)  # likeliest wrong first
    top = {Path(r["file"]).name for r in rows[: 2 * FLIPS]}
    assert len(top & flipped) >= FLIPS * 3 // 4, (len(top & flipped), len(rows))
    for row in rows:
        if Path(row["file"]).name in flipped:
            assert row["suggested_label"] != row["given_label"]
    names = set(excluded.read_text(encoding="utf-8").split())
    assert {Path(r["file"]).name for r in rows} <= names


@pytest.mark.slow
def test_audit_command_and_its_page_in_headless_chromium(flipped_cv, digits_dir: Path, tmp_path: Path) -> None:
    """The command line end to end (with --test and --cv), then audit.html in a real browser."""
    data, cv_dir, _ = flipped_cv
    out = tmp_path / "audit"
    result = run_cli("audit", str(data), f"--test={digits_dir / 'val'}", f"--cv={cv_dir}", f"--output={out}")
    assert result.returncode == 0, result.stderr
    assert "label issues in" in result.stdout and (out / "audit.html").is_file()
    bad = run_cli("audit", str(data), f"--output={data / 'audit'}")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "inside the data folder" in bad.stderr
    if find_chromium() is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    images = "Array.from(document.images, i => ({src: i.src, complete: i.complete, width: i.naturalWidth}))"
    links = """Array.from(document.links, a => {
      const request = new XMLHttpRequest();
      try { request.open('GET', a.href, false); request.send(); }
      catch (error) { return {href: a.href, error: String(error)}; }
      return {href: a.href, bytes: request.responseText.length};
    })"""
    headings = "Array.from(document.querySelectorAll('h2'), h => h.textContent)"
    with Chromium.start() as browser:
        page = browser.open((out / "audit.html").as_uri())
        shown = browser.evaluate(page, images)
        linked = browser.evaluate(page, links)
        titles = browser.evaluate(page, headings)
        text = browser.evaluate(page, "document.body.innerText")
        errors = browser.console_errors(page)
    assert errors == []
    assert {"Duplicate groups (pHash distance <= 8)", "Train/test leaks", "Label issues"} <= set(titles)
    assert "label_issues.png" in {Path(i["src"]).name for i in shown}
    assert sum(1 for i in shown if "/thumbs/" in i["src"]) >= 10  # leaks side by side
    for image in shown:
        assert image["complete"] and image["width"] > 0, image
    assert {"summary.json", "groups.txt", "leaks.csv", "label_issues.csv"} <= {Path(a["href"]).name for a in linked}
    for link in linked:
        assert "error" not in link and link["bytes"] > 0, link
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert f"{summary['label_issues']['flagged']} of {summary['label_issues']['oof_images']} out-of-fold images" in text


@pytest.mark.slow
def test_cv_page_shows_the_folds_confusion_matrix_and_decision(flipped_cv) -> None:
    """The cv command wrote {cv_dir}/index.html: its tables say what cv.json and decision.json say."""
    _, cv_dir, _ = flipped_cv
    page = cv_dir / "index.html"
    assert page.is_file() and (cv_dir / "oof_confusion_matrix.png").is_file()
    cv_summary = json.loads((cv_dir / "cv.json").read_text(encoding="utf-8"))
    decision = json.loads((cv_dir / "decision.json").read_text(encoding="utf-8"))
    if find_chromium() is None:
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    tables = (
        "Array.from(document.querySelectorAll('table'), "
        "t => Array.from(t.rows, r => Array.from(r.cells, c => c.textContent)))"
    )
    with Chromium.start() as browser:
        session = browser.open(page.as_uri())
        found = browser.evaluate(session, tables)
        shown = browser.evaluate(session, "Array.from(document.images, i => i.complete && i.naturalWidth > 0)")
        hrefs = browser.evaluate(session, "Array.from(document.links, a => a.getAttribute('href'))")
        text = browser.evaluate(session, "document.body.innerText")
        errors = browser.console_errors(session)
    assert errors == [] and shown == [True]
    folds, per_class, per_fold = found
    assert [row[0] for row in folds[1:]] == ["fold 0", "fold 1", "mean ± std", "pooled OOF (400 images)"]
    assert float(folds[1][1]) == pytest.approx(cv_summary["per_fold"][0]["val_acc"], rel=1e-3)
    assert float(folds[4][1]) == pytest.approx(cv_summary["oof"]["val_acc"], rel=1e-3)
    assert {"fold0/results.json", "fold1/results.json", "oof.csv", "decision.json"} <= set(hrefs)
    assert [row[0] for row in per_class[1:]] == [str(d) for d in range(10)]
    assert [float(row[5]) for row in per_fold[1:]] == pytest.approx(
        [r["gain"] for r in decision["cross_fitted"]], abs=1e-4
    )
    assert f"{decision['in_sample_gain']:+.4f}" in text and f"{decision['cross_fitted_gain']:+.4f}" in text


@pytest.mark.slow
def test_cv_page_table_and_picture_go_to_the_cv_wandb_run(flipped_cv) -> None:
    _, cv_dir, _ = flipped_cv
    cv_summary = json.loads((cv_dir / "cv.json").read_text(encoding="utf-8"))
    keys = RunConfig.from_dict({**DEFAULTS, "wandb_mode": "offline", "wandb_project": "ignite_fire-tests"}).bookkeeping
    log_wandb_summary(keys, cv_dir, cv_summary)
    table = json.loads(next((cv_dir / "wandb").rglob("per_class_f1_*.table.json")).read_text(encoding="utf-8"))
    assert table["columns"] == ["class", "f1_argmax", "f1_decision"]
    assert [row[0] for row in table["data"]] == [str(d) for d in range(10)]
    assert all(0 <= row[1] <= 1 and 0 <= row[2] <= 1 for row in table["data"])
    pictures = list((cv_dir / "wandb").rglob("oof_confusion_matrix_*.png"))
    assert len(pictures) == 1 and pictures[0].stat().st_size > 1000


def test_hashing_in_processes_matches_one_process(planted: Planted) -> None:
    paths = sorted(str(p) for p in (planted.root / "train").iterdir())
    assert hash_images(paths, workers=2) == hash_images(paths, workers=1)


def test_a_rerun_without_test_leaves_no_earlier_leaks(digits_dir: Path, tmp_path: Path) -> None:
    """The same --output audited again without --test: leaks.csv from the first run is gone, not stale."""
    out = tmp_path / "digits-audit"
    audit(str(digits_dir / "train"), test=str(digits_dir / "val"), output=str(out), folds=2, workers=1)
    assert read_csv(out / "leaks.csv")  # 16 px digits: many val digits are within 8 bits of a train digit
    audit(str(digits_dir / "train"), output=str(out), folds=2, workers=1)
    assert not (out / "leaks.csv").exists()
    assert "test" not in json.loads((out / "summary.json").read_text(encoding="utf-8"))
