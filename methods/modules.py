"""Building blocks after the readout: SCM (sec. 3.3), STM-style decoder, residual refinement
(sec. 3.4.1) and soft aggregation over objects."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def conv3x3(in_ch: int, out_ch: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel_size=3, padding=1, bias=bias)


def upsample_to(x: Tensor, like: Tensor | tuple[int, int]) -> Tensor:
    size = like.shape[-2:] if isinstance(like, Tensor) else like
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class SpatialConstraint(nn.Module):
    """SCM, eq. 5: gate = sigmoid(conv3x3(E ⊕ P_{t-1})) (H x W), output E ⊗ gate.

    The paper prints 1/(1+exp(f)), i.e. sigmoid(-f); the sign is absorbed by the learned conv.
    forward(embedding (N, C, h, w), prev_mask (N, 1, H, W) in [0, 1]) -> (N, C, h, w).
    The previous mask is area-averaged down to the embedding's size.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.conv = conv3x3(channels + 1, 1)

    def gate(self, embedding: Tensor, prev_mask: Tensor) -> Tensor:
        mask = F.interpolate(prev_mask.to(embedding.dtype), size=embedding.shape[-2:], mode="area")
        return torch.sigmoid(self.conv(torch.cat([embedding, mask], dim=1)))

    def forward(self, embedding: Tensor, prev_mask: Tensor) -> Tensor:
        return embedding * self.gate(embedding, prev_mask)

    @torch.no_grad()
    def init_spotlight(self, inside: float = 0.88, outside: float = 0.12) -> None:
        """Start training from the gate of the paper's Fig. 5: about ``inside`` where the previous mask is
        1 and ``outside`` where it is 0 (the mask channel's centre tap and the bias; the embedding
        channels keep their random initialisation). A training lever, not another network."""
        logit = lambda p: float(torch.logit(torch.tensor(p)))  # noqa: E731
        self.conv.weight[:, -1].zero_()
        self.conv.weight[:, -1, 1, 1] = logit(inside) - logit(outside)
        self.conv.bias.fill_(logit(outside))


class ResBlock(nn.Module):
    """STM's pre-activation residual block: x + conv(relu(conv(relu(x))))."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = conv3x3(channels, channels)
        self.conv2 = conv3x3(channels, channels)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class RefineBlock(nn.Module):
    """STM decoder stage: skip feature -> conv + ResBlock, add the upsampled coarser map, ResBlock.

    forward(skip (N, c, H, W) per image, coarser (R, channels, h, w) per object row, image_of_row (R,) | None):
    the skip branch depends on the image only, so it runs once per image and is shared by its rows.
    """

    def __init__(self, skip_channels: int, channels: int):
        super().__init__()
        self.conv_skip = conv3x3(skip_channels, channels)
        self.res_skip = ResBlock(channels)
        self.res_merge = ResBlock(channels)

    def forward(self, skip: Tensor, coarser: Tensor, image_of_row: Tensor | None = None) -> Tensor:
        s = self.res_skip(self.conv_skip(skip))
        s = _rows(s, image_of_row, coarser.shape[0])
        return self.res_merge(s + upsample_to(coarser, s))


def _rows(x: Tensor, image_of_row: Tensor | None, rows: int) -> Tensor:
    """Per-image features -> per-row ones: indexed by ``image_of_row``, or broadcast from one image."""
    if image_of_row is not None:
        return x[image_of_row]
    return x.expand(rows, *x.shape[1:]) if x.shape[0] == 1 and rows != 1 else x


class Decoder(nn.Module):
    """STM-style decoder with query-encoder skips, from the encoder stride up to stride 4.

    forward(x (R, in_ch, h, w) per object row, skips coarse-to-fine [(N, c, 2h, 2w), ...] per image,
    image_of_row (R,) | None: rows' images, None when N == R or N == 1) ->
    (features (R, channels, H/4, W/4), coarse logit (R, 1, H/4, W/4)).
    """

    def __init__(self, in_channels: int, skip_channels: list[int], channels: int):
        super().__init__()
        self.conv_in = conv3x3(in_channels, channels)
        self.res_in = ResBlock(channels)
        self.blocks = nn.ModuleList(RefineBlock(c, channels) for c in skip_channels)
        self.pred = conv3x3(channels, 1)

    def forward(self, x: Tensor, skips: list[Tensor], image_of_row: Tensor | None = None) -> tuple[Tensor, Tensor]:
        m = self.res_in(self.conv_in(x))
        for block, skip in zip(self.blocks, skips, strict=True):
            m = block(skip, m, image_of_row)
        return m, self.pred(F.relu(m))


def conv_bn_relu(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(conv3x3(in_ch, out_ch, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True))


class ResidualRefinement(nn.Module):
    """Boundary-aware residual refinement module (BASNet-style RRM, sec. 3.4.1, eq. 6).

    Encoder: ``levels`` x (3x3 conv, BN, ReLU, 2x2 max-pool); bridge conv; decoder: bilinear
    upsampling, concatenation with the encoder feature of that scale, 3x3 conv, BN, ReLU; a 3x3
    conv gives S_residual and S_refined = S_coarse + S_residual (in logit space, as BASNet).
    It runs at the decoder's output scale (stride 4) on the coarse logit concatenated with the
    decoder features: BASNet's full-resolution RRM would cost more than the whole network at 480p.
    forward(coarse (N, 1, h, w), features (N, C, h, w)) -> refined logit (N, 1, h, w).
    """

    def __init__(self, feature_channels: int, channels: int = 32, levels: int = 3):
        super().__init__()
        self.conv_in = conv3x3(1 + feature_channels, channels)
        self.encoder = nn.ModuleList(conv_bn_relu(channels, channels) for _ in range(levels))
        self.bridge = conv_bn_relu(channels, channels)
        self.decoder = nn.ModuleList(conv_bn_relu(2 * channels, channels) for _ in range(levels))
        self.conv_out = conv3x3(channels, 1)

    def forward(self, coarse: Tensor, features: Tensor) -> Tensor:
        x = self.conv_in(torch.cat([coarse, features], dim=1))
        skips = []
        for stage in self.encoder:
            x = stage(x)
            skips.append(x)
            x = F.max_pool2d(x, kernel_size=2, stride=2, ceil_mode=True)
        x = self.bridge(x)
        for stage, skip in zip(self.decoder, reversed(skips), strict=True):
            x = stage(torch.cat([upsample_to(x, skip), skip], dim=1))
        return coarse + self.conv_out(x)


def soft_aggregate(probs: Tensor, valid: Tensor | None = None, eps: float = 1e-7) -> Tensor:
    """STM / RGMP soft aggregation of per-object probabilities into multi-class logits.

    probs (B, O, H, W) in [0, 1]; valid (B, O) bool or None -> logits (B, O+1, H, W) float32,
    channel 0 background (prod of 1 - p_o); softmax over channels gives the merged probabilities.
    Objects with valid=False get probability 0 (they never win a pixel).
    """
    probs = probs.float()
    if valid is not None:
        probs = probs * valid.to(probs.dtype)[:, :, None, None]
    background = torch.prod(1.0 - probs, dim=1, keepdim=True)
    merged = torch.cat([background, probs], dim=1).clamp(eps, 1.0 - eps)
    return torch.log(merged / (1.0 - merged))
