"""The interface every readout memory keeps, and the checks they share.

A readout memory holds one *row* per tracked object (inference: O rows; training: B*O rows):

- ``update(key (R, C_N, h, w), value (R, C_M, h, w))`` writes one frame; R may grow between calls
  (objects appearing mid-video, YouTube-VOS), never shrink.
- ``read(query)`` with ``query (C_N, h, w)`` (one query shared by all rows, the inference case) or
  ``(R, C_N, h, w)`` (one per row, training) returns ``(R, C_M, h, w)``.
- ``nbytes()`` exact bytes of the tensors the memory holds; ``num_frames``; ``reset()``.
- ``state()`` / ``load_state(state)``: a cheap snapshot of the per-video state and its restore. Memories
  replace tensors or append to lists on update and never write into a stored tensor, so a snapshot
  shares the tensors and copies only the containers.
- ``state_bytes(cfg, t, rows, positions)`` (class method): the bytes ``nbytes()`` reports after ``t``
  frames of ``rows`` objects at ``positions`` feature positions, known before anything is allocated;
  ``read_workspace_bytes`` the extra bytes one read allocates (the benchmark's memory budget asks both).
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch import Tensor

FLOAT32_BYTES = 4


class Readout:
    """Base class of the registered readouts (see ``methods.memory.READOUTS``)."""

    name: str = ""

    @classmethod
    def from_config(cls, cfg) -> Readout:
        """A new empty memory for a ``methods.config.ModelConfig``."""
        return cls()

    @classmethod
    def state_bytes(cls, cfg, t: int, rows: int, positions: int) -> int:
        raise NotImplementedError

    @classmethod
    def read_workspace_bytes(cls, cfg, t: int, rows: int, positions: int) -> int:
        return 0

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, key: Tensor, value: Tensor) -> None:
        raise NotImplementedError

    def read(self, query: Tensor) -> Tensor:
        raise NotImplementedError

    def nbytes(self) -> int:
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_state(self, state: dict[str, Any]) -> None:
        raise NotImplementedError


def check_entry(key: Tensor, value: Tensor) -> None:
    if key.dim() != 4 or value.dim() != 4:
        raise ValueError(f"memory update expects key (R,C_N,h,w) and value (R,C_M,h,w), got "
                         f"{tuple(key.shape)} and {tuple(value.shape)}")
    if key.shape[0] != value.shape[0] or key.shape[-2:] != value.shape[-2:]:
        raise ValueError(f"key {tuple(key.shape)} and value {tuple(value.shape)} disagree in rows or size")


def check_query(query: Tensor, rows: int, c_n: int) -> None:
    if query.dim() not in (3, 4) or query.shape[-3] != c_n or (query.dim() == 4 and query.shape[0] != rows):
        raise ValueError(f"memory read expects query ({c_n},h,w) or ({rows},{c_n},h,w), got {tuple(query.shape)}")


def no_autocast(t: Tensor):
    """Context keeping a memory's accumulation in float32 under AMP."""
    if torch.is_autocast_enabled(t.device.type):
        return torch.autocast(device_type=t.device.type, enabled=False)
    return contextlib.nullcontext()
