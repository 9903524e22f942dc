"""Estimate, before allocating anything, how many bytes a (variant, t) measurement needs; refuse if too many.

For a space-time memory bank (``readout: stm``) at t absorbed frames with O objects and an h x w feature map
(stride 16 after padding to a multiple of 16):

* the bank: ``t * O * (C_N + C_M) * h * w * 4`` bytes (keys and values, float32);
* the read: the affinity ``O x (h*w) x (t*h*w)`` (logits, their concatenation and the softmax: 3 copies, float32),
  which ``methods.memory.SpaceTimeMemory`` computes in chunks of query positions holding at most
  ``_MAX_AFFINITY_ELEMENTS`` elements (at least one query position per chunk);
* the step's own entry written before the harness restores the t-frame state: one frame more.

The global context memory (``readout: gcm``) holds ``O * C_N * C_M * 4`` bytes whatever t is. A fixed
``BASE_BYTES`` stands for the weights and the activations of one step. The numbers are estimates, meant
to refuse runs that would be killed by the OOM killer, not to predict the peak exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

FLOAT_BYTES = 4
PAD_MULTIPLE = 16
BASE_BYTES = 1 << 30


@dataclass(frozen=True)
class MemoryGeometry:
    """What the memory's size depends on, read off the variant's ModelConfig."""

    readout: str  # "gcm", "stm" or "none" (copy_first_frame)
    key_dim: int
    value_dim: int
    stride: int


def feature_positions(height: int, width: int, stride: int) -> int:
    """h * w of the feature map for an H x W frame padded to a multiple of 16."""
    padded_h = math.ceil(height / PAD_MULTIPLE) * PAD_MULTIPLE
    padded_w = math.ceil(width / PAD_MULTIPLE) * PAD_MULTIPLE
    return math.ceil(padded_h / stride) * math.ceil(padded_w / stride)


def memory_state_bytes(geometry: MemoryGeometry, t: int, objects: int, height: int, width: int) -> int:
    """Bytes the memory state should hold after t frames (what ``engine.memory_bytes()`` is compared to)."""
    if geometry.readout == "stm":
        positions = feature_positions(height, width, geometry.stride)
        return t * objects * (geometry.key_dim + geometry.value_dim) * positions * FLOAT_BYTES
    if geometry.readout == "gcm":
        return objects * geometry.key_dim * geometry.value_dim * FLOAT_BYTES
    return 0


def affinity_limit() -> int | None:
    """Elements of one STM affinity chunk as methods.memory sets it (None: reads are not chunked)."""
    from methods import memory

    return getattr(memory, "_MAX_AFFINITY_ELEMENTS", None)


def needed_bytes(geometry: MemoryGeometry, t: int, objects: int, height: int, width: int) -> int:
    """Estimated peak bytes of one (variant, t) measurement, see the module docstring."""
    state = memory_state_bytes(geometry, t + 1, objects, height, width)
    workspace = 0
    if geometry.readout == "stm":
        positions = feature_positions(height, width, geometry.stride)
        bank_positions = objects * t * positions
        limit = affinity_limit()
        chunk = positions if limit is None else min(positions, max(1, limit // bank_positions))
        workspace = 3 * chunk * bank_positions * FLOAT_BYTES
    return BASE_BYTES + state + workspace


def check_budget(
    plans: list[tuple[str, MemoryGeometry]], t_values: list[int], objects: int, height: int, width: int,
    available: int, where: str,
) -> None:
    """ValueError naming every (variant, t) whose estimate exceeds ``available`` bytes on ``where``."""
    too_big = []
    for variant, geometry in plans:
        for t in t_values:
            need = needed_bytes(geometry, t, objects, height, width)
            if need > available:
                too_big.append(f"{variant} at t={t} needs about {need / 2**30:.1f} GiB ({need} bytes)")
    if too_big:
        raise ValueError(
            f"not enough memory on {where}: {available / 2**30:.1f} GiB ({available} bytes) available, but "
            + "; ".join(too_big)
            + ". Lower the largest --t, the --size or --objects, or run on a bigger device."
        )
