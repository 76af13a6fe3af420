from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


class RNGState:
    """The random-number state of torch (CPU and CUDA), numpy and Python, as a checkpointable object.

    ``state_dict`` holds only tensors, ints and lists, so checkpoints load with
    ``torch.load(weights_only=True)``.

    Example::

        to_save = {"model": model, "rng": RNGState()}
        Checkpoint.load_objects(to_load=to_save, checkpoint=torch.load(path, weights_only=True))
    """

    def state_dict(self) -> dict[str, Any]:
        numpy_state: tuple[Any, ...] = np.random.get_state(legacy=True)  # type: ignore[assignment]  # the tuple form
        version, *rest = random.getstate()
        state: dict[str, Any] = {
            "torch": torch.get_rng_state(),
            "numpy": {
                "keys": torch.from_numpy(numpy_state[1].astype(np.int64)),
                "pos": int(numpy_state[2]),
                "has_gauss": int(numpy_state[3]),
                "cached_gaussian": float(numpy_state[4]),
            },
            "python": {"version": version, "internal": list(rest[0]), "gauss_next": rest[1]},
        }
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        torch.set_rng_state(state["torch"])
        numpy_state = state["numpy"]
        np.random.set_state(
            (
                "MT19937",
                numpy_state["keys"].numpy().astype(np.uint32),
                numpy_state["pos"],
                numpy_state["has_gauss"],
                numpy_state["cached_gaussian"],
            )
        )
        python = state["python"]
        random.setstate((python["version"], tuple(python["internal"]), python["gauss_next"]))
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])
