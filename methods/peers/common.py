"""What every peer adapter does alike: count the bytes its per-video state keeps, and normalise a frame as
the ImageNet-trained encoders they all use expect."""

from __future__ import annotations

import torch

from methods.network import IMAGENET_MEAN, IMAGENET_STD


def imagenet_normalised(image: torch.Tensor, device: torch.device) -> torch.Tensor:
    """(3, H, W) float in [0, 1] -> (3, H, W) float32 on ``device``, normalised by ImageNet's mean and std."""
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(3, 1, 1)
    return (image.to(device, torch.float32) - mean) / std


def tensor_bytes(value, packages: tuple[str, ...], network: torch.nn.Module | None = None) -> int:
    """Bytes of the tensors reachable from ``value`` through containers and through the objects of
    ``packages`` (module-name prefixes: the peer's own classes), each tensor counted once. The
    ``network`` (its modules, parameters and buffers) is not per-video state and counts nothing."""
    seen: set[int] = set()
    if network is not None:
        seen.update(id(module) for module in network.modules())
        seen.update(id(tensor) for tensor in (*network.parameters(), *network.buffers()))
    return _reachable_bytes(value, packages, seen)


def _reachable_bytes(value, packages: tuple[str, ...], seen: set[int]) -> int:
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(_reachable_bytes(v, packages, seen) for v in value.values())
    if isinstance(value, list | tuple | set):
        return sum(_reachable_bytes(v, packages, seen) for v in value)
    if hasattr(value, "__dict__") and type(value).__module__.startswith(packages):
        return sum(_reachable_bytes(v, packages, seen) for v in vars(value).values())
    return 0
