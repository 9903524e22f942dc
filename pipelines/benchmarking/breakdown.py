"""Where a step's time and FLOPs go: the engine's sections (``methods.inference.STEP_SECTIONS``).

Measured in a pass of its own after the whole-step timing, from the same t-frame memory and on the same
frames: each section is bracketed by a clock (on CUDA with a synchronize on both sides, so queued kernels
are charged to the section that launched them; those waits leave the GPU idle for a moment, which is
why ``seconds_per_frame`` is timed without them and the sections may add up to a little more).

FLOPs are counted once per variant and t with ``torch.utils.flop_counter.FlopCounterMode``: convolutions
and matrix products (2 per multiply-add), not softmax, interpolation or elementwise work. They are the
same on every machine, so a FLOP ratio is the machine-independent side of a speed ratio: a machine runs
the variants at the FLOP ratio when its memory read is as fast per FLOP as its convolutions.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch.utils.flop_counter import FlopCounterMode

from methods.inference import STEP_SECTIONS

SECONDS_COLUMNS = [f"seconds_{name}" for name in STEP_SECTIONS]
GFLOPS_COLUMNS = ["gflops_per_frame"] + [f"gflops_{name}" for name in STEP_SECTIONS]
COLUMNS = SECONDS_COLUMNS + GFLOPS_COLUMNS


class SectionClock:
    """``engine.section_hook``: wall seconds per section name, summed over the sections entered."""

    def __init__(self, device: str):
        self.cuda = torch.device(device).type == "cuda"
        self.device = device
        self.seconds: dict[str, float] = defaultdict(float)

    def _sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize(self.device)

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        self._sync()
        start = time.perf_counter()
        yield
        self._sync()
        self.seconds[name] += time.perf_counter() - start


class SectionFlops:
    """``engine.section_hook``: FLOPs per section name (``FlopCounterMode``, see the module docstring)."""

    def __init__(self) -> None:
        self.flops: dict[str, int] = defaultdict(int)

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        with FlopCounterMode(display=False) as counter:
            yield
        self.flops[name] += counter.get_total_flops()


def _step_with(engine, hook, frame: torch.Tensor) -> None:
    engine.section_hook = hook
    try:
        engine.step(frame)
    finally:
        engine.section_hook = None


def measure_breakdown(engine, frames: list[torch.Tensor], snapshot, device: str) -> dict:
    """Median seconds per section over ``frames`` (one step each, each from the snapshot's t-frame state)
    and the FLOPs of one step; for an engine without sections only the FLOPs of the whole step where it has a
    network (a peer), every value None where it has none (the non-learned baseline)."""
    if not hasattr(engine, "section_hook"):
        return _whole_step_flops(engine, frames[0], snapshot)
    seconds: dict[str, list[float]] = {name: [] for name in STEP_SECTIONS}
    for frame in frames:
        snapshot.restore()
        clock = SectionClock(device)
        _step_with(engine, clock, frame)
        for name in STEP_SECTIONS:
            seconds[name].append(clock.seconds[name])
    snapshot.restore()
    counter = SectionFlops()
    with FlopCounterMode(display=False) as whole_step:
        _step_with(engine, counter, frames[0])
    snapshot.restore()
    row = {f"seconds_{name}": statistics.median(values) for name, values in seconds.items()}
    row["gflops_per_frame"] = whole_step.get_total_flops() / 1e9
    row.update({f"gflops_{name}": counter.flops[name] / 1e9 for name in STEP_SECTIONS})
    return row


def _whole_step_flops(engine, frame: torch.Tensor, snapshot) -> dict:
    """The breakdown's columns of an engine without sections: the whole step's FLOPs if it has a network."""
    row = dict.fromkeys(COLUMNS)
    if getattr(engine, "model", None) is None:
        return row
    snapshot.restore()
    with FlopCounterMode(display=False) as whole_step:
        engine.step(frame)
    snapshot.restore()
    row["gflops_per_frame"] = whole_step.get_total_flops() / 1e9
    return row
