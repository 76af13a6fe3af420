"""index.html: built from the run directory's files alone, escaped, reloading only while training."""

from __future__ import annotations

import json
from pathlib import Path

from ignite.engine import Engine, Events

from ignite_fire.pictures.report import IndexPage, galleries, write_index


def test_an_empty_run_directory_gets_a_page_with_placeholders(tmp_path: Path) -> None:
    page = write_index(tmp_path, running=True).read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert '<meta http-equiv="refresh" content="30">' in page
    assert "no epoch has finished yet" in page and "no curves yet" in page and "no gallery yet" in page
    assert "<img" not in page


def test_page_shows_metrics_latest_gallery_and_escapes_names(tmp_path: Path) -> None:
    config = {"name": "火灾<run>", "model": "resnet18", "classes": ["高风险", "a&b"], "checkpoint_metric": "val_loss"}
    (tmp_path / "config.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    history = [{"epoch": 1, "val_loss": 0.5, "val_acc": 0.6}, {"epoch": 2, "val_loss": 0.7, "val_acc": 0.7}]
    (tmp_path / "history.json").write_text(json.dumps(history))
    for epoch in (2, 10, 1):
        (tmp_path / f"gallery_epoch{epoch}.png").write_bytes(b"png")
    (tmp_path / "gallery_epochX.png").write_bytes(b"not a gallery")
    (tmp_path / "model_graph.dot").write_text("digraph {}")
    assert [e for e, _ in galleries(tmp_path)] == [1, 2, 10]

    page = write_index(tmp_path, running=False, wandb_dir="/runs/x/wandb/offline-run-1").read_text(encoding="utf-8")
    assert "<title>火灾&lt;run&gt;</title>" in page and "高风险, a&amp;b" in page
    assert "http-equiv" not in page
    assert '<img src="gallery_epoch10.png"' in page and '<a href="gallery_epoch2.png">epoch 2</a>' in page
    # best by val_loss (lower is better) is epoch 1; the last epoch is 2
    assert "<tr><th>last epoch</th><td>2</td>" in page and "<tr><th>best val_loss</th><td>1</td>" in page
    assert "Graphviz <code>dot</code> was not installed" in page and 'href="model_graph.dot"' in page
    assert "/runs/x/wandb/offline-run-1" in page and f"python -m ignite_fire sync {tmp_path}</code>" in page


def test_index_page_reloads_while_training_and_is_final_at_the_end(tmp_path: Path) -> None:
    trainer = Engine(lambda e, b: None)
    pages = []
    IndexPage(tmp_path, wandb_dir="/runs/x/wandb/offline-run-1").attach(trainer)
    trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda _: pages.append((tmp_path / "index.html").read_text()))
    trainer.run([0], max_epochs=2)
    assert len(pages) == 2 and all('http-equiv="refresh"' in page for page in pages)
    final = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "http-equiv" not in final and "status: done" in final and "/runs/x/wandb/offline-run-1" in final
