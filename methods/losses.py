"""Training losses: hybrid BCE + SSIM + IoU (paper eq. 7-10) and cross-entropy on the
soft-aggregated logits (sec. 3.4.1).

Choices where the paper is silent (report/paper_tables/hyperparameters.csv):
- BCE is averaged over pixels (BASNet's implementation) rather than summed as eq. 8 prints, so the
  three hybrid terms are all O(1) and independent of the crop size.
- SSIM (eq. 9) uses BASNet's window: 11x11 Gaussian, sigma 1.5, C1 = 0.01^2, C2 = 0.03^2, zero
  padding; loss = 1 - mean SSIM over the map. The separable filter is applied as two banded-matrix
  products (the same sums as the convolution; much cheaper to differentiate on a CPU).
- IoU (eq. 10) is smoothed by one pixel, 1 - (I + 1) / (U + 1), so an empty prediction of an
  object absent from the frame costs 0 instead of being undefined.
- The hybrid loss is applied to the refined map and to the coarse map (two side outputs, eq. 7's
  k), all weights 1 by default; the hybrid terms are averaged over valid (object, frame) maps.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor

DEFAULT_WEIGHTS = {"bce": 1.0, "ssim": 1.0, "iou": 1.0, "coarse": 1.0, "ce": 1.0}
SSIM_WINDOW, SSIM_SIGMA, SSIM_C1, SSIM_C2 = 11, 1.5, 0.01**2, 0.03**2


@functools.lru_cache(maxsize=8)
def _gaussian_1d(size: int, sigma: float) -> Tensor:
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return (g / g.sum()).float()


@functools.lru_cache(maxsize=16)
def _blur_matrix(length: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """(length, length) banded matrix B with B[i, j] = g[j - i + pad]: ``x @ B`` is the Gaussian filter of
    ``x`` along its last dimension, zero padded (the band is cut at the borders)."""
    g = _gaussian_1d(SSIM_WINDOW, SSIM_SIGMA)
    pad = SSIM_WINDOW // 2
    offsets = torch.arange(length)[None, :] - torch.arange(length)[:, None] + pad
    inside = (offsets >= 0) & (offsets < SSIM_WINDOW)
    matrix = torch.where(inside, g[offsets.clamp(0, SSIM_WINDOW - 1)], torch.zeros(()))
    return matrix.to(device=device, dtype=dtype)


def _blur(x: Tensor) -> Tensor:
    """Separable Gaussian filter of (..., H, W) maps, zero padded, same size.

    Two products with banded matrices rather than two single-channel convolutions: the same sums, but
    the convolutions' backward pass took 30% of a CPU training iteration (measured; docs/findings.md)."""
    h, w = x.shape[-2:]
    rows = _blur_matrix(h, x.device, x.dtype)
    cols = _blur_matrix(w, x.device, x.dtype)
    return rows.T @ (x @ cols)


def ssim_target_stats(target: Tensor) -> tuple[Tensor, Tensor]:
    """The target's local mean and mean square, each (N, H, W): computed once for every map scored against it."""
    return _blur(target), _blur(target * target)


def ssim_loss(pred: Tensor, target: Tensor, target_stats: tuple[Tensor, Tensor] | None = None) -> Tensor:
    """1 - mean SSIM per map. pred, target (N, H, W) in [0, 1] -> (N,). ``target_stats``:
    ``ssim_target_stats(target)``, when several predictions are scored against one target.

    The target's blurs are kept apart from the prediction's, so the backward pass differentiates only
    the three that depend on the prediction, and each map is blurred alone (no stacked copy): values and
    gradients are the same bit for bit as one blur of all five maps, in 0.6 of the time (measured)."""
    x, y = pred, target
    mu_y, yy = ssim_target_stats(y) if target_stats is None else target_stats
    mu_x, xx, xy = (_blur(v) for v in (x, x * x, x * y))
    var_x = xx - mu_x**2
    var_y = yy - mu_y**2
    cov = xy - mu_x * mu_y
    ssim = ((2 * mu_x * mu_y + SSIM_C1) * (2 * cov + SSIM_C2)) / (
        (mu_x**2 + mu_y**2 + SSIM_C1) * (var_x + var_y + SSIM_C2))
    return 1.0 - ssim.mean(dim=(1, 2))


def iou_loss(pred: Tensor, target: Tensor, smooth: float = 1.0) -> Tensor:
    """Soft IoU loss per map (eq. 10, smoothed). pred, target (N, H, W) -> (N,)."""
    inter = (pred * target).sum(dim=(1, 2))
    union = (pred + target - pred * target).sum(dim=(1, 2))
    return 1.0 - (inter + smooth) / (union + smooth)


def hybrid_terms(logits: Tensor, target: Tensor,
                 target_stats: tuple[Tensor, Tensor] | None = None) -> dict[str, Tensor]:
    """BCE, SSIM and IoU per map. logits, target (N, H, W) -> {"bce", "ssim", "iou"} each (N,);
    ``target_stats`` as in ``ssim_loss``."""
    logits, target = logits.float(), target.float()
    prob = torch.sigmoid(logits)
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none").mean(dim=(1, 2))
    return {"bce": bce, "ssim": ssim_loss(prob, target, target_stats), "iou": iou_loss(prob, target)}


def _logits(output: dict[str, Tensor], name: str) -> Tensor:
    if f"{name}_logits" in output:
        return output[f"{name}_logits"]
    p = output[name].float().clamp(1e-6, 1 - 1e-6)
    return torch.log(p / (1 - p))


def labels_from_masks(target: Tensor, valid: Tensor) -> Tensor:
    """target (B, T, O, H, W) binary, valid (B, O) -> class map (B, T, H, W) long, 0 = background."""
    masked = target * valid.to(target.dtype)[:, None, :, None, None]
    score, index = masked.max(dim=2)
    return torch.where(score > 0.5, index + 1, torch.zeros_like(index))


def total_loss(output: dict[str, Tensor], target: Tensor, valid: Tensor,
               weights: dict[str, float] | None = None,
               map_count: Tensor | None = None) -> tuple[Tensor, dict[str, float]]:
    """Loss of one training forward.

    output: GVOSNet.forward's dict (logits (B,T-1,O+1,H,W), refined/coarse (B,T-1,O,H,W) and their
    *_logits); target (B,T-1,O,H,W) binary masks; valid (B,O) bool; weights override
    DEFAULT_WEIGHTS (keys bce, ssim, iou, coarse, ce); map_count, the number the hybrid terms' sums over
    the valid maps are divided by (default: this batch's valid maps; under DDP, the global batch's over
    the world size). Returns (scalar loss, {part: float}).
    """
    w = dict(DEFAULT_WEIGHTS)
    if weights:
        unknown = sorted(set(weights) - set(DEFAULT_WEIGHTS))
        if unknown:
            raise ValueError(f"loss weights: unknown key(s) {unknown}; known: {sorted(DEFAULT_WEIGHTS)}")
        w.update(weights)
    refined = _logits(output, "refined")
    if refined.shape != target.shape or valid.shape != (target.shape[0], target.shape[2]):
        raise ValueError(f"target {tuple(target.shape)} / valid {tuple(valid.shape)} do not match the "
                         f"output {tuple(refined.shape)}")
    map_weight = valid.to(torch.float32)[:, None, :].expand(target.shape[:3]).reshape(-1)
    denom = map_weight.sum().clamp(min=1.0) if map_count is None else map_count
    flat_target = target.reshape(-1, *target.shape[-2:]).float()
    target_stats = ssim_target_stats(flat_target)  # shared by the refined and the coarse map

    def hybrid(logits: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        terms = hybrid_terms(logits.reshape(-1, *logits.shape[-2:]), flat_target, target_stats)
        means = {k: (v * map_weight).sum() / denom for k, v in terms.items()}
        return sum(w[k] * means[k] for k in ("bce", "ssim", "iou")), means

    loss, parts = hybrid(refined)
    coarse_logits = output.get("coarse_logits")
    has_coarse = coarse_logits is not None and coarse_logits is not output.get("refined_logits")
    coarse_loss = hybrid(coarse_logits)[0] if has_coarse else refined.new_zeros(())
    labels = labels_from_masks(target, valid)
    logits = output["logits"]
    ce = F.cross_entropy(logits.reshape(-1, *logits.shape[2:]).float(), labels.reshape(-1, *labels.shape[2:]))
    total = loss + w["coarse"] * coarse_loss + w["ce"] * ce
    report = {k: float(v.detach()) for k, v in parts.items()}
    report.update(coarse=float(coarse_loss.detach()), ce=float(ce.detach()), total=float(total.detach()))
    return total, report
