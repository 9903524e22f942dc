"""Checkpoint files: atomic writes, checked loads, and the RNG state needed for an exact resume.

Two kinds of file live in a run folder:

- ``checkpoint.pt`` — the final model: ``{"variant", "model_config", "state_dict", "stage",
  "iteration", "seed", "config_hash"}``. Its presence means the run is finished.
- ``state.pt`` — the resumable training state, rewritten every ``checkpoint_every`` iterations:
  model, optimizer, grad scaler, RNG states, iteration (the data position: the sampler is a pure
  function of seed and iteration), the loss-log rows so far, and the config hash it belongs to.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pipelines.data.errors import DataError
from pipelines.data.masks import atomic_save

CHECKPOINT_KEYS = ("variant", "model_config", "state_dict", "stage", "iteration", "seed", "config_hash")


def save_atomic(obj: Any, path: str | Path) -> None:
    """``torch.save`` to a temp file in the same folder, then rename: a kill never leaves half a file."""
    atomic_save(path, lambda tmp: torch.save(obj, tmp))


def load_file(path: str | Path) -> dict:
    """Load a ``torch.save``-d mapping on the CPU; DataError naming the file if missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "checkpoint file does not exist")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # torch raises many types for truncated / foreign files
        raise DataError(path, f"cannot read checkpoint ({err.__class__.__name__}: {err})") from err
    if not isinstance(obj, dict):
        raise DataError(path, f"not a checkpoint mapping (got {type(obj).__name__})")
    return obj


def load_checkpoint(path: str | Path, variant: str | None = None) -> dict:
    """Load a final model checkpoint and check its keys; with ``variant``, require that variant."""
    ckpt = load_file(path)
    missing = [key for key in CHECKPOINT_KEYS if key not in ckpt]
    if missing:
        raise DataError(path, f"not a model checkpoint: missing key(s) {', '.join(missing)}")
    if variant is not None and ckpt["variant"] != variant:
        raise DataError(path, f"checkpoint is of variant {ckpt['variant']!r}, expected {variant!r}")
    return ckpt


def capture_rng() -> dict:
    """Every RNG the training loop may draw from (python, numpy, torch CPU and CUDA)."""
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
