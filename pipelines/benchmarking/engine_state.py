"""Bring an inference engine's memory to exactly t absorbed frames, and put it back there after a step.

Filling: ``reset()``, one real ``step`` of the first frame with its mask (memory: 1 frame), then the
first frame is encoded once more (``engine.memory_entry``) and that key/value is written
``t - 1`` more times with ``engine.memory.update``. The cost of a read depends on the memory's size,
not on what it holds, so repeated entries time the same as t distinct frames; for the global context
memory each update is the running mean (eq. 3), so filling gives exactly the state of t identical
frames. The STM bank clones every entry, so its bytes are real.

Restoring: ``engine.snapshot()`` / ``engine.restore()`` (methods.inference) keep the t-frame state
without copying the bank; ``tests/test_benchmark.py`` checks that property on the real engine.
"""

from __future__ import annotations

import torch


def is_exact(engine) -> bool:
    """Whether the engine's snapshot is a copy (each step from it reads the same state), not a handle on a
    state that every step moves on (``exact_snapshot = False``: the benchmark's successive steps)."""
    return getattr(engine, "exact_snapshot", True)


class EngineSnapshot:
    """The engine's per-video state at construction, put back by ``restore()``."""

    def __init__(self, engine):
        self.engine = engine
        self.state = engine.snapshot()

    def restore(self) -> None:
        self.engine.restore(self.state)


def fill_memory(engine, first_frame: torch.Tensor, first_mask: torch.Tensor, objects: list[int], t: int) -> None:
    """Reset ``engine`` and bring its memory to t absorbed frames (see the module docstring).

    Engines without ``memory_entry`` (the copy_first_frame baseline, whose state is the latest given
    label map and does not grow) are only stepped once with the mask; a peer (``methods.peers``), whose
    memory follows its own policy (a frame every few, a cap), takes t - 1 real steps of the first frame,
    unless it brings itself to t frames (its ``fill``).
    """
    if hasattr(engine, "fill"):
        engine.fill(first_frame, first_mask, objects, t)
        return
    engine.reset()
    engine.step(first_frame, first_mask, objects)
    if t > 1 and hasattr(engine, "memory_entry"):
        key, value = engine.memory_entry(first_frame, first_mask)
        for _ in range(t - 1):
            engine.memory.update(key, value)
    elif t > 1 and hasattr(engine, "memory_frames"):  # a peer (methods.peers): its own memory policy, real steps
        for _ in range(t - 1):
            engine.step(first_frame)
