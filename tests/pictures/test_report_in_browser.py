"""A run's index.html in a real browser (headless Chromium): images and links load, no console errors,
the metrics table says what results.json says; and a screenshot to look at.

Set IGNITE_FIRE_SCREENSHOT_DIR to keep the screenshot (``index-screenshot.png``) after the test.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pytest
from PIL import Image

from ignite_fire.experiment import load_experiment
from ignite_fire.training import train
from tests.browser import Chromium, find_chromium
from tests.helpers import TINY_EXPERIMENT

pytestmark = [
    pytest.mark.slow,  # a trained run and a browser process
    pytest.mark.skipif(
        find_chromium() is None, reason="headless Chromium is not installed (apt-get install chromium; .ci/run does)"
    ),
]

IMAGES = "Array.from(document.images, i => ({src: i.currentSrc || i.src, complete: i.complete, width: i.naturalWidth}))"
# Each link fetched as the browser would (file:// reads need --allow-file-access-from-files): a missing one throws.
LINKS = """Array.from(document.links, a => {
  const request = new XMLHttpRequest();
  try { request.open('GET', a.href, false); request.send(); return {href: a.href, bytes: request.responseText.length}; }
  catch (error) { return {href: a.href, error: String(error)}; }
})"""
TABLE = "Array.from(document.querySelectorAll('table tr'), row => Array.from(row.cells, cell => cell.textContent))"


@pytest.fixture(scope="module")
def run_dir(digits_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 2-epoch run of the tiny CNN on the digits, with every picture."""
    out = tmp_path_factory.mktemp("browser-runs")
    overrides = {"data_dir": str(digits_dir), "output_dir": str(out), "name": "page", "epochs": 2}
    overrides |= {"wandb_mode": "disabled", "plots": True, "gallery_size": 12}
    return Path(train(load_experiment(TINY_EXPERIMENT, overrides))["run_dir"])


def test_index_html_in_headless_chromium(run_dir: Path, tmp_path: Path) -> None:
    with Chromium.start() as browser:
        page = browser.open((run_dir / "index.html").as_uri())
        images = browser.evaluate(page, IMAGES)
        errors = browser.console_errors(page)
        table = browser.evaluate(page, TABLE)
        links = browser.evaluate(page, LINKS)
        screenshot = browser.screenshot(page, tmp_path / "index-screenshot.png")

    assert errors == []
    assert len(images) >= 3  # curves, confusion matrix, gallery (+ the model graph with Graphviz)
    for image in images:
        assert image["complete"] and image["width"] > 0, image
    assert {"curves.png", "confusion_matrix.png", "gallery_epoch2.png"} <= {Path(i["src"]).name for i in images}
    assert {"config.json", "history.json", "results.json"} <= {Path(link["href"]).name for link in links}
    for link in links:
        assert "error" not in link and link["bytes"] > 0, link
        assert Path(unquote(urlparse(link["href"]).path)).resolve().is_relative_to(run_dir.resolve()), link

    results = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    header, rows = table[0], {row[0]: dict(zip(table[0], row, strict=True)) for row in table[1:]}
    assert set(rows) == {"last epoch", f"best {results['checkpoint_metric']}"}
    assert int(rows["last epoch"]["epoch"]) == results["epochs_completed"]
    best = rows[f"best {results['checkpoint_metric']}"]
    assert int(best["epoch"]) == results["best_epoch"]
    compared = [c for c in header if c != "epoch" and isinstance(results.get(c), float)]
    assert "val_acc" in compared
    for column in compared:  # the page shows 4 significant digits
        assert math.isclose(float(best[column]), results[column], rel_tol=1e-3), column

    with Image.open(screenshot) as picture:
        pixels = np.asarray(picture.convert("RGB"))
    assert pixels.shape[1] == 1280 and pixels.shape[0] > 900 and pixels.std() > 10
    keep = os.environ.get("IGNITE_FIRE_SCREENSHOT_DIR")
    if keep:
        shutil.copy(screenshot, Path(keep) / screenshot.name)
