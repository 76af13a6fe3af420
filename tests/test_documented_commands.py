"""The commands the README and the competition guide show run as written, in order, on demo data.

The commands are read from the pages themselves: every ```bash block right after a
``<!-- tested -->`` line. They run from a temporary folder (with ``experiments/`` linked into it)
with smaller sizes (2 folds, 1 epoch, 16 px) so that the chain takes minutes, not hours.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from ignite_fire.competition.decision import FAMILIES

REPO = Path(__file__).resolve().parents[1]
TESTED = re.compile(r"<!-- tested -->\s*```bash\n(.*?)```", re.S)
SMALLER = {"--folds": "2", "--epochs": "1", "--image_size": "16"}
TRAINING = ("cv", "train", "sweep", "lr-find")  # commands that take config overrides
QUICK = {
    "training": ["--num_workers=0", "--batch_size=16", "--device=cpu", "--plots=False"],
    "predict": ["--num_workers=0", "--device=cpu"],
    "pseudo-label": ["--num_workers=0", "--device=cpu"],
}


def commands_of(page: Path) -> list[str]:
    """The commands of the page's tested blocks, in order (continuation lines joined, comments dropped)."""
    commands = []
    for block in TESTED.findall(page.read_text(encoding="utf-8")):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" # ", 1)[0].strip()
            if line and not line.startswith("#"):
                commands += [part.strip() for part in line.split("&&") if "pip install" not in part]
    return commands


def readme_commands() -> tuple[list[str], list[str]]:
    """The README's quickstart, and its Tianchi chain."""
    commands = commands_of(REPO / "README.md")
    return commands[:1], commands[1:]


def smaller(command: str) -> list[str]:
    """``command`` as argv, with the smaller sizes and the options that keep it quick on a CPU."""
    words = shlex.split(command)
    assert words[:3] in (["python", "-m", "ignite_fire"], ["python3", "-m", "ignite_fire"]), command
    argv = [sys.executable, "-m", "ignite_fire"]
    for word in words[3:]:
        flag = word.split("=", 1)[0]
        argv.append(f"{flag}={SMALLER[flag]}" if flag in SMALLER and "=" in word else word)
    command_name = words[3]
    if command_name in TRAINING or command_name.endswith(".py"):
        argv += QUICK["training"]
        if "--epochs" not in command:
            argv.append("--epochs=1")
    argv += QUICK.get(command_name, [])
    return argv


def run(argv: list[str], cwd: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled"}
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, f"{shlex.join(argv[1:])} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"


def test_the_readme_chain_is_the_competition_guide_s_and_starts_from_demo_data() -> None:
    quickstart, chain = readme_commands()
    assert quickstart == ["python3 -m ignite_fire experiments/quickstart.py"]
    guide = commands_of(REPO / "docs" / "competition.md")
    assert chain == guide
    assert len(chain) == 6 and chain[0] == "python -m ignite_fire demo-data"
    assert [shlex.split(c)[3] for c in chain] == ["demo-data", "cv", "cv", "pseudo-label", "cv", "predict"]


def test_smaller_keeps_the_command_and_only_shrinks_its_sizes() -> None:
    argv = smaller("python -m ignite_fire cv experiments/x.py --folds=5 --image_size=64 --name=s1")
    assert argv[3:8] == ["cv", "experiments/x.py", "--folds=2", "--image_size=16", "--name=s1"]
    assert "--epochs=1" in argv and "--num_workers=0" in argv


@pytest.mark.slow
def test_the_quickstart_and_the_competition_chain_run_as_documented(tmp_path: Path) -> None:
    (tmp_path / "experiments").symlink_to(REPO / "experiments")
    quickstart, _ = readme_commands()
    for command in quickstart + commands_of(REPO / "docs" / "competition.md"):
        run(smaller(command), tmp_path)

    quick_runs = list((tmp_path / "runs").glob("quickstart-*/results.json"))
    assert len(quick_runs) == 1 and json.loads(quick_runs[0].read_text())["status"] == "finished"
    for stage in ("stage1", "stage2", "stage3"):
        cv_dir = tmp_path / "runs" / stage
        summary = json.loads((cv_dir / "cv.json").read_text(encoding="utf-8"))
        assert summary["folds"] == 2 and set(summary["oof"]) == {"val_acc", "val_macro_f1", "val_score"}
        decision = json.loads((cv_dir / "decision.json").read_text(encoding="utf-8"))
        assert decision["kind"] in (*FAMILIES, "argmax") and decision["family"] == decision["kind"]
        assert all((cv_dir / f"fold{k}" / "checkpoints" / "best.pt").is_file() for k in range(2))
        with open(cv_dir / "oof.csv", encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        assert rows[0][:3] == ["file", "label", "fold"] and len(rows) - 1 == summary["oof_images"] == 450
    assert (tmp_path / "pseudo.txt").is_file()
    listed = (tmp_path / "data/demo/tianchi/A.txt").read_text(encoding="utf-8").split()
    submission = [line.split("\t") for line in (tmp_path / "submission.txt").read_text(encoding="utf-8").splitlines()]
    assert [name for name, _ in submission] == listed
    assert {label for _, label in submission} <= {"高风险", "中风险", "低风险", "无风险", "非楼道"}
    assert (tmp_path / "probabilities.csv").is_file()
