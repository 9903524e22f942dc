"""Hybrid loss (BCE + SSIM + IoU) and cross-entropy on hand-made examples."""

import pytest
import torch

from methods.losses import hybrid_terms, iou_loss, labels_from_masks, ssim_loss, total_loss


def _target(b=2, t=2, o=2, h=24, w=32):
    target = torch.zeros(b, t, o, h, w)
    target[:, :, 0, 4:12, 6:20] = 1
    target[:, :, 1, 14:22, 10:28] = 1
    return target


def _output_from(prob_maps, scale=30.0):
    """A network-like output whose maps equal prob_maps (0/1) with confident logits."""
    logits = (2 * prob_maps - 1) * scale
    b, t, o, h, w = prob_maps.shape
    labels = labels_from_masks(prob_maps, torch.ones(b, o, dtype=torch.bool))
    agg = torch.nn.functional.one_hot(labels, o + 1).permute(0, 1, 4, 2, 3).float()
    return {"refined_logits": logits, "coarse_logits": logits.clone(), "refined": torch.sigmoid(logits),
            "coarse": torch.sigmoid(logits), "logits": (2 * agg - 1) * scale}


def test_perfect_prediction_costs_nothing():
    target = _target()
    loss, parts = total_loss(_output_from(target), target, torch.ones(2, 2, dtype=torch.bool))
    assert loss.item() < 1e-4
    assert set(parts) == {"bce", "ssim", "iou", "coarse", "ce", "total"}


def test_inverted_prediction_is_expensive():
    target = _target()
    loss, parts = total_loss(_output_from(1 - target), target, torch.ones(2, 2, dtype=torch.bool))
    assert parts["bce"] > 10 and parts["iou"] > 0.9 and parts["ssim"] > 0.9 and parts["ce"] > 10
    assert loss.item() > 30


def test_terms_on_simple_maps():
    g = torch.zeros(1, 16, 16)
    g[0, 4:12, 4:12] = 1
    assert ssim_loss(g, g).item() == pytest.approx(0.0, abs=1e-6)
    assert iou_loss(g, g).item() == pytest.approx(0.0, abs=1e-6)
    half = g.clone()
    half[0, 4:8] = 0  # half of the object found: IoU 1/2
    assert iou_loss(half, g).item() == pytest.approx(1 - 33 / 65, abs=1e-6)
    empty = torch.zeros(1, 16, 16)
    assert iou_loss(empty, empty).item() == 0.0  # an absent object predicted absent costs nothing
    terms = hybrid_terms(torch.zeros(1, 16, 16), g)  # p = 0.5 everywhere
    assert terms["bce"].item() == pytest.approx(0.6931, abs=1e-4)


def test_invalid_objects_are_ignored():
    target = _target()
    out = _output_from(target)
    out["refined_logits"][:, :, 1] *= -1  # object 1 totally wrong but invalid
    out["coarse_logits"][:, :, 1] *= -1
    valid = torch.tensor([[True, False], [True, False]])
    target_valid = target.clone()
    target_valid[:, :, 1] = 0
    out["logits"] = _output_from(target_valid)["logits"]
    loss, _ = total_loss(out, target, valid)
    assert loss.item() < 1e-4


def test_bad_weights_and_shapes():
    target = _target()
    out = _output_from(target)
    with pytest.raises(ValueError, match="unknown"):
        total_loss(out, target, torch.ones(2, 2, dtype=torch.bool), {"dice": 1.0})
    with pytest.raises(ValueError, match="target"):
        total_loss(out, target[:, :1], torch.ones(2, 2, dtype=torch.bool))
    loss, parts = total_loss(out, target, torch.ones(2, 2, dtype=torch.bool), {"ce": 0.0, "coarse": 0.0})
    assert parts["total"] == pytest.approx(parts["bce"] + parts["ssim"] + parts["iou"], abs=1e-6)


@pytest.mark.parametrize("shape", [(3, 20, 33), (2, 5, 7), (1, 64, 112)])
def test_ssim_blur_equals_the_zero_padded_gaussian_convolution(shape):
    """The banded-matrix filter is BASNet's 11x11 Gaussian window with zero padding, also on maps smaller
    than the window."""
    import torch.nn.functional as F

    from methods.losses import SSIM_SIGMA, SSIM_WINDOW, _blur, _gaussian_1d

    x = torch.rand(shape, dtype=torch.float64)
    g = _gaussian_1d(SSIM_WINDOW, SSIM_SIGMA).double()
    kernel = (g[:, None] * g[None, :])[None, None]
    reference = F.conv2d(x[:, None], kernel, padding=SSIM_WINDOW // 2)[:, 0]
    torch.testing.assert_close(_blur(x), reference, rtol=0, atol=1e-12)


def _ssim_of_one_stacked_blur(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """SSIM as eq. 9 writes it, the five local statistics from one blur of the five maps stacked."""
    from methods.losses import SSIM_C1, SSIM_C2, _blur

    mu_x, mu_y, xx, yy, xy = _blur(torch.stack([x, y, x * x, y * y, x * y]))
    var_x, var_y, cov = xx - mu_x**2, yy - mu_y**2, xy - mu_x * mu_y
    ssim = ((2 * mu_x * mu_y + SSIM_C1) * (2 * cov + SSIM_C2)) / (
        (mu_x**2 + mu_y**2 + SSIM_C1) * (var_x + var_y + SSIM_C2))
    return 1.0 - ssim.mean(dim=(1, 2))


@pytest.mark.parametrize("shared_target", [False, True])
def test_ssim_with_the_targets_blurs_apart_is_the_formula_bit_for_bit(shared_target):
    """The speed-up (the target blurred once, without gradient; no stacked copy) changes no bit of the loss
    or of its gradient, so training is the same computation as before it."""
    from methods.losses import ssim_loss, ssim_target_stats

    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 64, 112, generator=generator)
    target = (torch.rand(6, 64, 112, generator=generator) > 0.5).float()
    grads, losses = [], []
    for fn in (_ssim_of_one_stacked_blur,
               lambda p, t: ssim_loss(p, t, ssim_target_stats(t) if shared_target else None)):
        leaf = logits.clone().requires_grad_()
        loss = fn(torch.sigmoid(leaf), target)
        loss.sum().backward()
        losses.append(loss.detach())
        grads.append(leaf.grad)
    assert torch.equal(losses[0], losses[1]) and torch.equal(grads[0], grads[1])
