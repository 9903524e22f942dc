"""Model checkpoints: the file's contents, its identity, and the one way to get a ready model from it.

Every torch file the suite reads (checkpoint, resumable state, backbone weights) goes through
``load_torch_file``: ``torch.load(weights_only=True)``, which unpickles tensors and plain Python data
(dict, list, tuple, str, numbers, None) and nothing else, so a file carrying a pickled object that
would run code when loaded is refused with one line naming it, and no code of it runs.

A checkpoint is a ``torch.save``-d mapping with ``CHECKPOINT_KEYS``: the variant name, the full
ModelConfig it was built with, the weights, the training stage (``pretrain_only``, ``main_only`` or ``full``),
the iteration count, the seed and ``config_hash`` (``pipelines.common.provenance.run_hash`` of the run).
Its *identity* is (variant, stage, seed, config_hash): whoever loads one says which identity it
expects, and a checkpoint of another run is refused with a message naming both.

    model, ckpt = load_model("runs/gvos_scm/full/seed0/checkpoint.pt", variant="gvos_scm", stage="full")
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from methods.config import ModelConfig

CHECKPOINT_KEYS = ("variant", "model_config", "state_dict", "stage", "iteration", "seed", "config_hash")
IDENTITY_KEYS = ("variant", "stage", "seed", "config_hash")


class CheckpointError(ValueError):
    """A checkpoint file that is missing, unreadable, not a model checkpoint, or not the one expected."""

    def __init__(self, path: str | Path | None, problem: str):
        self.path = None if path is None else Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path is not None else problem)


UNSAFE_CONTENT = ("refused: the file holds pickled Python objects other than tensors and plain data, "
                  "which could run code when loaded; only load such a file if you trust its source, and "
                  "re-save its tensors alone")


def load_torch_file(path: str | Path, what: str = "checkpoint") -> Any:
    """The contents of a ``torch.save``-d file on the CPU, tensors and plain data only.

    CheckpointError naming the file when it is missing, unreadable or carries any other pickled object
    (whose loading could run code); nothing from the file runs."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, f"{what} file does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "GLOBAL" in str(err):  # weights_only met a pickled global it does not allow
            raise CheckpointError(path, f"{UNSAFE_CONTENT} ({_telling_line(err, 'GLOBAL')})") from None
        raise CheckpointError(path, f"cannot read {what}: not a file torch.save wrote "
                                    f"({_telling_line(err, 'Unsupported')})") from None
    except Exception as err:  # torch raises many types for truncated / foreign files
        raise CheckpointError(path, f"cannot read {what} ({err.__class__.__name__}: "
                                    f"{_telling_line(err, '')})") from None


def _telling_line(err: BaseException, word: str) -> str:
    """The line of an error's message holding ``word`` (else its first line), shortened: torch's unpickling
    errors run to a page of advice around the one line that says what was found."""
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()] or [""]
    line = next((line for line in lines if word and word in line), lines[0])
    return line if len(line) <= 200 else line[:197] + "..."


def read_file(path: str | Path) -> dict[str, Any]:
    """Any ``torch.save``-d mapping of the suite (checkpoint or resumable state), on the CPU."""
    obj = load_torch_file(path)
    if not isinstance(obj, dict):
        raise CheckpointError(path, f"not a checkpoint mapping (got {type(obj).__name__})")
    return obj


def check_identity(ckpt: dict[str, Any], path: str | Path | None, **expected: Any) -> None:
    """CheckpointError if any given identity field (variant, stage, seed, config_hash) differs."""
    unknown = sorted(set(expected) - set(IDENTITY_KEYS))
    if unknown:
        raise ValueError(f"unknown identity field(s) {unknown}; known: {list(IDENTITY_KEYS)}")
    wrong = [f"{key} {ckpt.get(key)!r} (expected {value!r})" for key, value in expected.items()
             if value is not None and ckpt.get(key) != value]
    if wrong:
        raise CheckpointError(path, "checkpoint of another run: " + ", ".join(wrong))


def read_checkpoint(path: str | Path, **expected: Any) -> dict[str, Any]:
    """A final model checkpoint, its keys checked and its identity compared with ``expected``."""
    ckpt = read_file(path)
    missing = [key for key in CHECKPOINT_KEYS if key not in ckpt]
    if missing:
        raise CheckpointError(path, f"not a model checkpoint: missing key(s) {', '.join(missing)}")
    check_identity(ckpt, path, **expected)
    return ckpt


def model_from_checkpoint(ckpt: dict[str, Any], path: str | Path | None = None):
    """A GVOSNet built from the checkpoint's own ModelConfig, with its weights, in eval mode."""
    from methods.network import GVOSNet  # here: the network's backbone loads weights through this module

    try:
        cfg = ModelConfig.from_dict(dict(ckpt["model_config"]))
    except (TypeError, ValueError) as err:
        raise CheckpointError(path, f"bad model config in checkpoint: {err}") from None
    cfg.weights = None  # the weights come from the checkpoint, not from the backbone file it started from
    model = GVOSNet(cfg)
    state = ckpt["state_dict"]
    bad = sum(int((~torch.isfinite(v)).sum()) for v in state.values()
              if isinstance(v, torch.Tensor) and v.is_floating_point())
    if bad:
        raise CheckpointError(path, f"{bad} non-finite weights (NaN or inf): the training diverged; retrain it "
                                    "with a lower learning rate rather than scoring it")
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise CheckpointError(path, f"weights do not fit the checkpoint's model config: {err}") from None
    return model.eval()


def load_model(path: str | Path, device: str | torch.device = "cpu", **expected: Any):
    """(ready GVOSNet on ``device``, the checkpoint mapping) of a checkpoint file."""
    ckpt = read_checkpoint(path, **expected)
    return model_from_checkpoint(ckpt, path).to(device), ckpt
