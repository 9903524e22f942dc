"""The arithmetic a run computes in: the ``amp`` setting (auto, on, off) resolved for a device, the
autocast dtype, and the label results and checkpoints carry. ``auto`` asks the hardware: CUDA runs float16
autocast, a CPU bfloat16 only where it multiplies bfloat16 natively (read from /proc/cpuinfo: the one
place methods/ reads a file, the machine's description, never data)."""

from __future__ import annotations

import functools

import torch

AMP_SETTINGS = ("auto", True, False)
"""``amp`` as a config or CLI gives it: ``auto`` (mixed precision where the hardware runs it natively:
float16 on CUDA, bfloat16 on a CPU with AVX512-BF16 or AMX; float32 elsewhere), on, off."""


def amp_dtype(device: torch.device) -> torch.dtype:
    """The autocast precision of mixed-precision runs: float16 on CUDA, bfloat16 on the CPU."""
    return torch.float16 if torch.device(device).type == "cuda" else torch.bfloat16


def is_amp_setting(value: object) -> bool:
    """One of AMP_SETTINGS as the config spells it (true, false or auto; not 1 or 0)."""
    return isinstance(value, bool) or value == "auto"


@functools.cache
def _this_cpuinfo() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def cpu_has_native_bfloat16(cpuinfo: str | None = None) -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (x86 flags avx512_bf16 / amx_bf16, Arm bf16).
    Without it PyTorch emulates bfloat16 matrix products, measured 90x slower than float32 on an AVX2
    AMD EPYC (docs/findings.md), so ``auto`` trains and predicts in float32 there."""
    if cpuinfo is None:
        cpuinfo = _this_cpuinfo()
    for line in cpuinfo.splitlines():
        if line.split(":")[0].strip() in ("flags", "Features"):
            flags = set(line.partition(":")[2].split())
            return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})
    return False


def resolve_amp(setting: str | bool, device: str | torch.device) -> bool:
    """Whether autocast runs for ``setting`` (one of AMP_SETTINGS; "on"/"off" as CLI spell them) on
    ``device``. An explicit on is honoured even where it is slow."""
    if isinstance(setting, str):
        setting = {"on": True, "true": True, "off": False, "false": False, "auto": "auto"}.get(setting.lower(), setting)
    if not is_amp_setting(setting):
        raise ValueError(f"amp: expected auto, true or false, got {setting!r}")
    if setting != "auto":
        return setting
    return torch.device(device).type == "cuda" or cpu_has_native_bfloat16()


def emulates_bfloat16(amp: bool, device: str | torch.device) -> bool:
    """Autocast on a CPU without native bfloat16: PyTorch emulates it, several times slower than float32."""
    return amp and torch.device(device).type == "cpu" and not cpu_has_native_bfloat16()


def precision_name(amp: bool, device: str | torch.device) -> str:
    """The label of a run's arithmetic in results and checkpoints: float32, bfloat16-amp, float16-amp."""
    return f"{str(amp_dtype(device)).removeprefix('torch.')}-amp" if amp else "float32"
