"""This machine's limits in a step's precision: the best rate of a large matrix product and of a 3x3
convolution of the model's typical shape, measured in the calling process with its threads. The training
and inference benchmarks report their achieved GFLOP/s against these."""

from __future__ import annotations

import torch

from methods.precision import amp_dtype
from pipelines.benchmarking.breakdown import SectionClock


def fp32_precision_in_force(device: str) -> str:
    """How float32 convolutions and matrix products run now: ``ieee`` on the CPU; on CUDA, TF32 or IEEE for
    each (torch.backends flags: PyTorch's defaults are TF32 convolutions and IEEE matrix products)."""
    if torch.device(device).type != "cuda":
        return "ieee"
    conv = "tf32" if torch.backends.cudnn.allow_tf32 else "ieee"
    matmul = "tf32" if torch.backends.cuda.matmul.allow_tf32 else "ieee"
    return f"conv={conv},matmul={matmul}"


def _best_rate(device: str, flops: float, work, repeats: int) -> float:
    clock = SectionClock(device)
    best = float("inf")
    for _ in range(repeats + 1):
        clock.seconds.clear()
        with clock("op"):
            work()
        best = min(best, clock.seconds["op"])
    return flops / best / 1e9


def matmul_peak_gflops(device: str, repeats: int = 5, amp: bool = False) -> float:
    """This machine's matrix-product rate (best of ``repeats``) in the precision the training runs in
    (float32, or under the same autocast): the limit to compare against."""
    n = 4096 if torch.device(device).type == "cuda" else 1024
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    if amp:
        a, b = a.to(amp_dtype(device)), b.to(amp_dtype(device))
    return _best_rate(device, 2 * n**3, lambda: a @ b, repeats if not amp or device != "cpu" else 2)


def conv_peak_gflops(device: str, repeats: int = 5, amp: bool = False) -> float:
    """The rate of a 3x3 convolution of the model's typical training shape (64 -> 64 channels at 32x56,
    batch 8, channels-last) in the training's precision: the bound of the convolution-heavy step."""
    x = torch.randn(8, 64, 32, 56, device=device).to(memory_format=torch.channels_last)
    conv = torch.nn.Conv2d(64, 64, 3, padding=1, bias=False).to(device, memory_format=torch.channels_last)
    flops = 2 * 8 * 64 * 64 * 9 * 32 * 56

    def work():
        with torch.no_grad(), torch.autocast(torch.device(device).type, dtype=amp_dtype(device), enabled=amp):
            return conv(x)

    return _best_rate(device, flops, work, repeats)
