"""Writing a run folder's files: atomic torch files, and the RNG state an exact resume needs.

Two kinds of file live in a run folder (``pipelines.train``):

- ``checkpoint.pt`` — the final model (contents and loading: ``methods.checkpoint``). Its presence
  means the run is finished.
- ``state.pt`` — the resumable training state, rewritten every ``checkpoint_every`` iterations:
  model, optimizer, grad scaler, RNG states, iteration (the data position: the sampler is a pure
  function of seed and iteration), the loss-log rows so far, and the config hash it belongs to.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pipelines.common.files import atomic_save

log = logging.getLogger("gvos.train")


def save_atomic(obj: Any, path: str | Path) -> None:
    """``torch.save`` to a temp file in the same folder, then rename: a kill never leaves half a file."""
    atomic_save(path, lambda tmp: torch.save(obj, tmp))


def capture_rng() -> dict:
    """Every RNG the training loop may draw from (python, numpy, torch CPU and CUDA), as tensors and
    plain data only, so that the state file loads with ``weights_only=True`` (``methods.checkpoint``)."""
    kind, keys, position, has_gauss, cached_gauss = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(position), int(has_gauss), float(cached_gauss)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, position, has_gauss, cached_gauss = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.int64).astype(np.uint32), position, has_gauss, cached_gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        # a run resumed with fewer (or more) visible GPUs than it was saved with: the devices both have
        saved, visible = list(state["cuda"]), torch.cuda.device_count()
        for index in range(min(len(saved), visible)):
            torch.cuda.set_rng_state(saved[index], index)
        if len(saved) != visible:
            log.warning("resumed with %d visible GPUs, saved with %d: CUDA RNG restored for the first %d only",
                        visible, len(saved), min(len(saved), visible))
