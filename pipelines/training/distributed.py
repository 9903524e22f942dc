"""What makes N training processes of one global batch compute what one process computes on it.

Two quantities of a training step are batch-wide, so DDP alone would compute them per rank:

- the batch statistics of every trainable BatchNorm: ``sync_batch_norm`` swaps each ``nn.BatchNorm2d``
  for ``CrossRankBatchNorm2d``, whose mean and variance are summed over the ranks (differentiably, so
  the gradient through the statistics is the single process's too). ``nn.SyncBatchNorm`` does the same
  on CUDA only; this one also runs on gloo CPU process groups, so the CPU tests run the code a GPU runs.
- the loss normaliser (the number of valid (object, frame) maps): ``global_map_count`` all-reduces it,
  and each rank divides its sum by ``global / world``, so DDP's mean over ranks of the gradients is the
  gradient of the global sum over the global count.

Not made equal: dropout draws its masks from each rank's own RNG stream (equal in distribution, not
sample by sample), and the forward's rule "compute every slot when fewer than two are valid" is per rank.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor, nn


def _world() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


class _SumOverRanks(torch.autograd.Function):
    """The sum of a tensor over the ranks; its gradient is the sum of the ranks' gradients (each rank's
    loss depends on every rank's tensor through the sum)."""

    @staticmethod
    def forward(ctx, tensor: Tensor) -> Tensor:
        total = tensor.clone()
        dist.all_reduce(total)
        return total

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        total = grad.clone()
        dist.all_reduce(total)
        return total


def sum_over_ranks(tensor: Tensor) -> Tensor:
    """Differentiable all-reduce (sum) over the default process group."""
    return _SumOverRanks.apply(tensor)


class CrossRankBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics cover the batch slices of every rank of the process group.

    Outside a process group of two or more ranks, or in eval mode, it is ``nn.BatchNorm2d``. The same
    parameters and buffers, so its state dict is a BatchNorm2d's."""

    def forward(self, x: Tensor) -> Tensor:
        """x (B, C, H, W) -> (B, C, H, W), normalised by the mean and biased variance over all ranks' rows."""
        if not self.training or _world() < 2:
            return super().forward(x)
        dims = (0, 2, 3)
        data = x.to(torch.promote_types(x.dtype, torch.float32))  # half precision: statistics in float32
        count = torch.full((1,), data.numel() / data.shape[1], dtype=data.dtype, device=data.device)
        first = sum_over_ranks(torch.cat([data.sum(dims), count]))
        total = first[-1].clamp(min=1.0)
        mean = first[:-1] / total
        centred = data - mean[None, :, None, None]
        var = sum_over_ranks((centred * centred).sum(dims)) / total  # two passes: no cancellation
        if self.track_running_stats:
            self._update_running_stats(mean.detach(), var.detach(), total.detach())
        scale = torch.rsqrt(var + self.eps)
        y = centred * scale[None, :, None, None]
        if self.affine:
            y = y * self.weight[None, :, None, None] + self.bias[None, :, None, None]
        return y.to(x.dtype)

    @torch.no_grad()
    def _update_running_stats(self, mean: Tensor, var: Tensor, total: Tensor) -> None:
        self.num_batches_tracked.add_(1)
        momentum = (1.0 / float(self.num_batches_tracked)) if self.momentum is None else self.momentum
        unbiased = var * total / (total - 1).clamp(min=1.0)
        self.running_mean.lerp_(mean.to(self.running_mean.dtype), momentum)
        self.running_var.lerp_(unbiased.to(self.running_var.dtype), momentum)


def sync_batch_norm(module: nn.Module) -> nn.Module:
    """Swap every ``nn.BatchNorm2d`` of ``module`` (in place) for a CrossRankBatchNorm2d holding the same
    parameters and buffers (on the CPU: call it before moving the module to its device); frozen
    BatchNorms (torchvision's FrozenBatchNorm2d) are left alone."""
    for name, child in module.named_children():
        if type(child) is nn.BatchNorm2d:
            synced = CrossRankBatchNorm2d(child.num_features, child.eps, child.momentum, child.affine,
                                          child.track_running_stats)
            synced.load_state_dict(child.state_dict())
            synced.train(child.training)
            setattr(module, name, synced)
        else:
            sync_batch_norm(child)
    return module


def global_map_count(valid: Tensor, frames: int) -> Tensor:
    """The loss normaliser of one rank: the valid (object, frame) maps of the whole global batch divided
    by the world size (at least one map in all). valid (B, O) bool of this rank's slice; frames: the
    frames each valid object is scored on (T - 1). Returns a float32 scalar on valid's device."""
    count = valid.sum().to(torch.float32) * frames
    world = _world()
    if world > 1:
        dist.all_reduce(count)  # a fresh tensor: reduced in place
    return count.clamp(min=1.0) / world
