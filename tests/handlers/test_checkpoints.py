"""load_checkpoint: one line for a file that is not a checkpoint, and for a damaged one."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ignite_fire.errors import UserError
from ignite_fire.handlers.checkpoints import load_checkpoint


def load_error(path: Path) -> str:
    with pytest.raises(UserError) as caught:
        load_checkpoint(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_file_that_is_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "notes.pt"
    path.write_text("epoch 3 was the best\n")
    assert load_error(path) == f"{path} is not an ignite_fire checkpoint (not a file saved by torch.save)"
    torch.save(torch.zeros(2), tmp_path / "tensor.pt")
    assert load_error(tmp_path / "tensor.pt").endswith("is not an ignite_fire checkpoint (no 'model' entry)")


@pytest.mark.parametrize("keep", [0, 100, 0.5])
def test_a_truncated_checkpoint_is_damaged(tmp_path: Path, keep: float) -> None:
    path = tmp_path / "last.pt"
    torch.save({"model": torch.nn.Linear(8, 8).state_dict()}, path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep) if isinstance(keep, float) else keep])
    message = load_error(path)
    assert message.startswith(f"{path} is damaged (truncated or corrupt): ") and len(message) < len(str(path)) + 120
