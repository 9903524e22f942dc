"""Where a step runs: the device a ``--device`` flag names, the CPU thread count, the DDP context.
The one home of these for every CLI (train, predict, benchmark)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

DEVICES = ("auto", "cpu", "cuda")

log = logging.getLogger("gvos")


def resolve_device(name: str) -> torch.device:
    """``auto`` -> cuda when available, else cpu; ValueError for CUDA asked for but absent."""
    name = str(name)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        hint = gpu_hint()
        if hint:
            log.warning("device auto: running on the CPU although %s", hint)
        return torch.device("cpu")
    if name not in DEVICES and not name.startswith("cuda:"):
        raise ValueError(f"--device {name!r}: expected auto, cpu or cuda")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available on this machine")
    return torch.device(name)


def gpu_hint(dev: str = "/dev") -> str | None:
    """Why ``auto`` may be falling back to the CPU on a GPU machine (an NVIDIA device node exists but
    this torch wheel sees no GPU: usually a driver older than the wheel's CUDA), or None."""
    nodes = sorted(p.name for p in Path(dev).glob("nvidia[0-9]*")) if Path(dev).is_dir() else []
    if not nodes:
        return None
    return (f"{len(nodes)} NVIDIA device(s) exist ({', '.join(nodes)}) and this torch {torch.__version__} "
            f"(CUDA {torch.version.cuda}) sees none: check the driver (nvidia-smi) against the wheel's CUDA, "
            "or pass --device cuda to fail instead of falling back")


def set_threads(threads: int | None) -> None:
    """torch intra-op threads; 0 or None leaves torch's default."""
    if threads is not None and threads < 0:
        raise ValueError(f"--threads must be >= 0, got {threads}")
    if threads:
        torch.set_num_threads(threads)


def distributed_context() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from torchrun's environment; ``(0, 1, 0)`` otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, 0
    return int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0"))


def visible_gpus() -> int:
    """The CUDA devices torch sees in this process (0 without CUDA)."""
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def job_gpus(declared: int, device: str, local_gpus: int) -> int:
    """The GPUs a workflow job declares to the scheduler: what the config says, and at least one where
    the job will run on this machine's GPU (device cuda, or auto with a GPU visible), so that a gpu limit
    keeps two jobs off one card. local_gpus: the GPUs of the machine the jobs run on (0 for a cluster,
    whose jobs get what they declare)."""
    declared = int(declared)
    if declared == 0 and local_gpus > 0 and str(device) != "cpu":
        return 1
    return declared
