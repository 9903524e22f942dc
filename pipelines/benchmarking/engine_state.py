"""Bring an inference engine's memory to exactly t absorbed frames, and put it back there after a step.

Filling: ``reset()``, one real ``step`` of the first frame with its mask (memory: 1 frame), then the
first frame is encoded once more (``engine.memory_entry``) and that key/value is written
``t - 1`` more times with ``engine.memory.update``. The cost of a read depends on the memory's size,
not on what it holds, so repeated entries time the same as t distinct frames; for the global context
memory each update is the running mean (eq. 3), so filling gives exactly the state of t identical
frames. The STM bank clones every entry, so its bytes are real.

Restoring: the memories and the engine replace their tensors or append to lists on each update and
never write into a stored tensor, so a shallow snapshot of their attributes (lists copied, tensors
shared) restores the t-frame state without copying the bank. ``tests/test_benchmark.py`` checks that
property on the real engine.
"""

from __future__ import annotations

import torch
from torch import nn


def _shallow_state(obj) -> dict:
    return {
        name: list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value
        for name, value in vars(obj).items()
        if not isinstance(value, nn.Module)
    }


def _restore_state(obj, state: dict) -> None:
    for name, value in state.items():
        setattr(obj, name, list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value)


class EngineSnapshot:
    """Snapshot of an engine's per-video state (its own attributes and its memory's), cheap to restore."""

    def __init__(self, engine):
        self.engine = engine
        self.memory = engine.memory
        self.engine_state = _shallow_state(engine)
        self.memory_state = _shallow_state(engine.memory)

    def restore(self) -> None:
        _restore_state(self.engine, self.engine_state)
        _restore_state(self.memory, self.memory_state)


def fill_memory(engine, first_frame: torch.Tensor, first_mask: torch.Tensor, objects: list[int], t: int) -> None:
    """Reset ``engine`` and bring its memory to t absorbed frames (see the module docstring).

    Engines without ``memory_entry`` (the copy_first_frame baseline, whose state is the latest given
    label map and does not grow) are only stepped once with the mask.
    """
    engine.reset()
    engine.step(first_frame, first_mask, objects)
    if t > 1 and hasattr(engine, "memory_entry"):
        key, value = engine.memory_entry(first_frame, first_mask)
        for _ in range(t - 1):
            engine.memory.update(key, value)
