"""The one deterministic input every variant is timed on: a textured frame and an ellipse mask per object."""

from __future__ import annotations

import math

import torch


def make_frame(height: int, width: int, index: int = 0) -> torch.Tensor:
    """Frame ``index`` of a synthetic clip: float32 (3, H, W) in [0, 1].

    A smooth colour field plus seeded noise texture, shifted by ``index`` pixels per frame so that each
    timed step sees new content (same statistics, no disk I/O).
    """
    generator = torch.Generator().manual_seed(0)
    texture = torch.rand(3, height, width, generator=generator)
    ys = torch.linspace(0, 1, height).view(1, height, 1)
    xs = torch.linspace(0, 1, width).view(1, 1, width)
    phase = torch.tensor([0.0, 2.1, 4.2]).view(3, 1, 1)
    field = 0.5 + 0.5 * torch.sin(2 * math.pi * (xs + ys) + phase)
    frame = 0.6 * field + 0.4 * texture
    return torch.roll(frame, shifts=(index, 2 * index), dims=(1, 2)).contiguous()


def make_mask(height: int, width: int, objects: int = 1) -> torch.Tensor:
    """Object ids 1..objects as ellipses side by side: long (H, W), 0 background."""
    ys = torch.arange(height, dtype=torch.float32).view(height, 1)
    xs = torch.arange(width, dtype=torch.float32).view(1, width)
    mask = torch.zeros(height, width, dtype=torch.long)
    for obj in range(1, objects + 1):
        cx = width * obj / (objects + 1)
        cy = height / 2
        rx = max(width / (3 * (objects + 1)), 2.0)
        ry = max(height / 4, 2.0)
        inside = ((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2 <= 1
        mask[inside] = obj
    return mask
