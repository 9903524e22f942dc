"""Readout memories, one class per file, registered here by name (the ``model.readout`` config key).

To add a readout: write a ``methods.memory.base.Readout`` subclass in a new file of this package and
add it to ``READOUTS`` below (docs/extending.md walks through one).
"""

from __future__ import annotations

from methods.memory.base import Readout
from methods.memory.gcm import GlobalContextMemory, context_matrix, context_readout
from methods.memory.stm import SpaceTimeMemory

READOUTS: dict[str, type[Readout]] = {cls.name: cls for cls in (GlobalContextMemory, SpaceTimeMemory)}

__all__ = ["READOUTS", "GlobalContextMemory", "Readout", "SpaceTimeMemory", "build_memory", "context_matrix",
           "context_readout", "readout_class", "state_bytes"]


def readout_class(name: str) -> type[Readout]:
    if name not in READOUTS:
        raise ValueError(f"unknown readout {name!r}; known: {', '.join(READOUTS)}")
    return READOUTS[name]


def build_memory(cfg_or_name, mem_every: int = 1) -> Readout:
    """An empty memory for a ModelConfig, or for a readout name (with ``mem_every`` for STM-like ones)."""
    if isinstance(cfg_or_name, str):
        from types import SimpleNamespace

        cfg = SimpleNamespace(readout=cfg_or_name, mem_every=mem_every)
        return readout_class(cfg.readout).from_config(cfg)
    return readout_class(cfg_or_name.readout).from_config(cfg_or_name)


def state_bytes(cfg, t: int, objects: int, height: int, width: int) -> int:
    """Bytes the memory of a ModelConfig holds after t frames of ``objects`` objects at H x W."""
    return readout_class(cfg.readout).state_bytes(cfg, t, objects, cfg.feature_positions(height, width))


def read_workspace_bytes(cfg, t: int, objects: int, height: int, width: int) -> int:
    """Extra bytes one read of that memory allocates (affinity blocks and the like)."""
    return readout_class(cfg.readout).read_workspace_bytes(cfg, t, objects, cfg.feature_positions(height, width))
