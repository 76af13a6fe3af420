"""Two torchrun nodes on one machine (``--nnodes=2 --nproc_per_node=1``, c10d rendezvous on 127.0.0.1, gloo):
what two machines run, with metrics equal to one process's over the whole validation set (issue 21, item 10)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ignite_fire.distributed import free_port
from tests.helpers import REPO, one_process_metrics, tiny_args

HANG = 1800  # only to catch a rendezvous that never completes


def torchrun() -> list[str]:
    found = shutil.which("torchrun", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    return [found] if found else [sys.executable, "-m", "torch.distributed.run"]


@pytest.mark.slow
def test_two_nodes_train_one_run_with_the_metrics_of_one_process(digits_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    node = [
        *torchrun(), "--nnodes=2", "--nproc_per_node=1", "--rdzv_backend=c10d",
        f"--rdzv_endpoint=127.0.0.1:{port}", "--rdzv_id=two-nodes", "--local_addr=127.0.0.1",
        "-m", "ignite_fire", "train",
        *tiny_args(digits_dir, tmp_path, "nodes", "--epochs=1", "--graph=False", "--gallery_every=0"),
    ]  # fmt: skip
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true", "PYTHONPATH": str(REPO)}
    env.pop("WORLD_SIZE", None)
    nodes = [subprocess.Popen(node, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)]
    nodes.append(subprocess.Popen(node, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    try:
        outputs = [process.communicate(timeout=HANG)[0] for process in nodes]
    finally:
        for process in nodes:
            if process.poll() is None:
                process.kill()
    assert [process.returncode for process in nodes] == [0, 0], "\n".join(o[-3000:] for o in outputs)
    assert sum(o.count("epoch 1/1  train_loss") for o in outputs) == 1, "one group of 2: only rank 0 logs"

    run_dir = tmp_path / "nodes"
    record = json.loads((run_dir / "history.json").read_text())[0]
    assert record["iteration"] == 20  # 320 images / global batch 16, 8 per node
    metrics, val_size = one_process_metrics(run_dir, digits_dir)
    assert val_size == 80  # the whole validation set, on one process
    assert metrics["val_acc"] == record["val_acc"]
    assert metrics["val_loss"] == pytest.approx(record["val_loss"], rel=1e-5)
    for name in ("val_macro_f1", "val_score", *(k for k in metrics if k.startswith("val_recall/"))):
        assert metrics[name] == pytest.approx(record[name], abs=1e-9), name
