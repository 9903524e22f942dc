"""Wall time of one call and the peak memory around it, on CPU or CUDA.

CPU: ``time.perf_counter``; peak = the process's resident-set high-water mark (``VmHWM``), reset before
each measured block by writing ``5`` to ``/proc/self/clear_refs`` (Linux >= 4.0), after handing freed heap
memory back to the OS so that earlier blocks' freed tensors do not count. Where that reset is not
possible the peak is the lifetime maximum (``resource.getrusage``) and ``peak_memory_kind`` says so.
CUDA: ``torch.cuda.synchronize`` plus CUDA events for time; ``torch.cuda.reset_peak_memory_stats`` /
``max_memory_allocated`` for the peak (tensor allocations only, not the caching allocator's reserve).
``above_start()`` is the block's own need: the peak less what was resident (``VmRSS``) or allocated when
``reset()`` ran, i.e. without the networks, the memory states and everything else alive before it.
"""

from __future__ import annotations

import ctypes
import gc
import re
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

PROC_STATUS = Path("/proc/self/status")
PROC_CLEAR_REFS = Path("/proc/self/clear_refs")


def time_call(fn: Callable[[], object], device: str) -> float:
    """Seconds ``fn()`` takes, with the GPU's queued work included on CUDA."""
    if torch.device(device).type == "cuda":
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        torch.cuda.synchronize(device)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize(device)
        return start.elapsed_time(end) / 1000.0
    begin = time.perf_counter()
    fn()
    return time.perf_counter() - begin


def _status_bytes(field: str) -> int | None:
    """A ``/proc/self/status`` field in bytes (VmHWM: the resident high-water mark; VmRSS: resident now)."""
    try:
        match = re.search(rf"{field}:\s+(\d+)\s*kB", PROC_STATUS.read_text())
    except OSError:
        return None
    return int(match.group(1)) * 1024 if match else None


def _vm_hwm_bytes() -> int | None:
    return _status_bytes("VmHWM")


def _trim_heap() -> None:
    """Hand memory freed by earlier blocks back to the OS (glibc ``malloc_trim``), so that the resident
    set a block starts from holds what is alive, not what an earlier variant's memory bank left behind."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the peak may include freed memory
        pass


def _reset_rss_peak() -> bool:
    try:
        PROC_CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


class PeakMemory:
    """``reset()`` before a block, ``read()`` after it -> bytes; ``kind`` names what was measured."""

    def __init__(self, device: str):
        self.device = device
        self.start: int | None = None  # resident or allocated bytes when reset() ran
        self.is_cuda = torch.device(device).type == "cuda"
        if self.is_cuda:
            self.kind = "cuda_max_memory_allocated"
        elif _vm_hwm_bytes() is not None and _reset_rss_peak():
            self.kind = "cpu_peak_rss"
        else:
            self.kind = "cpu_peak_rss_process_lifetime"

    def reset(self) -> None:
        if self.is_cuda:
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.start = int(torch.cuda.memory_allocated(self.device))
        elif self.kind == "cpu_peak_rss":
            gc.collect()
            _trim_heap()
            _reset_rss_peak()
            self.start = _status_bytes("VmRSS")
        else:
            self.start = None

    def read(self) -> int:
        if self.is_cuda:
            torch.cuda.synchronize(self.device)
            return int(torch.cuda.max_memory_allocated(self.device))
        if self.kind == "cpu_peak_rss":
            return int(_vm_hwm_bytes())
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)

    def above_start(self, peak: int) -> int | None:
        """The block's own need: ``peak`` (from ``read()``) less the bytes in use at ``reset()``; None where
        the peak is the process's lifetime maximum (it may predate the block)."""
        return None if self.start is None else max(0, int(peak) - self.start)


def available_bytes(device: str) -> int:
    """Memory that new tensors could still take: CUDA free memory, or the system's available RAM."""
    if torch.device(device).type == "cuda":
        free, _total = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    import psutil

    return int(psutil.virtual_memory().available)
