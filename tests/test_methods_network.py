"""GVOSNet and its blocks: shapes, dtypes, gradients, frozen BatchNorm."""

import pytest
import torch
from tiny_model import TINY_MODEL
from torch import nn
from torchvision.ops.misc import FrozenBatchNorm2d

from methods.backbone import ResNetEncoder
from methods.modules import Decoder, ResidualRefinement, SpatialConstraint, soft_aggregate
from methods.variants import build_model

pytestmark = pytest.mark.usefixtures("one_thread")


def _clip(b=2, t=3, o=2, h=33, w=47, seed=0):
    g = torch.Generator().manual_seed(seed)
    frames = torch.rand(b, t, 3, h, w, generator=g)
    masks = (torch.rand(b, o, h, w, generator=g) > 0.7).float()
    valid = torch.ones(b, o, dtype=torch.bool)
    if b > 1 and o > 1:
        valid[1, -1] = False
    return frames, masks, valid


@pytest.mark.parametrize("stage, channels", [("layer2", (64, 128)), ("layer3", (64, 128, 256))])
def test_encoder_strides(stage, channels):
    encoder = ResNetEncoder("resnet18", stage, extra_channels=2)
    feats = encoder(torch.rand(2, 5, 64, 96))
    assert [f.shape for f in feats] == [torch.Size([2, c, 64 // s, 96 // s])
                                        for c, s in zip(channels, (4, 8, 16), strict=False)]


def test_blocks_shapes():
    scm = SpatialConstraint(8)
    x = torch.rand(3, 8, 4, 6)
    assert scm(x, torch.rand(3, 1, 32, 48)).shape == x.shape
    gate = scm.gate(x, torch.rand(3, 1, 32, 48))
    assert gate.shape == (3, 1, 4, 6) and 0 <= gate.min() and gate.max() <= 1
    decoder = Decoder(8, [128, 64], 16)
    feats, logit = decoder(torch.rand(3, 8, 2, 3), [torch.rand(3, 128, 4, 6), torch.rand(3, 64, 8, 12)])
    assert feats.shape == (3, 16, 8, 12) and logit.shape == (3, 1, 8, 12)
    refine = ResidualRefinement(16)
    assert refine(logit, feats).shape == (3, 1, 8, 12)
    assert refine(torch.rand(1, 1, 9, 13), torch.rand(1, 16, 9, 13)).shape == (1, 1, 9, 13)  # odd sizes


def test_soft_aggregate():
    probs = torch.rand(2, 3, 5, 7, generator=torch.Generator().manual_seed(0))
    valid = torch.tensor([[True, True, False], [True, True, True]])
    logits = soft_aggregate(probs, valid)
    assert logits.shape == (2, 4, 5, 7) and logits.dtype == torch.float32
    merged = torch.softmax(logits, dim=1)
    assert torch.allclose(merged.sum(1), torch.ones(2, 5, 7))
    assert merged[0, 3].max() < 1e-5  # an invalid object never wins a pixel
    # STM's soft aggregation: the merged probabilities are proportional to the odds p / (1 - p)
    present = probs * valid[:, :, None, None]
    background = torch.prod(1 - present, dim=1, keepdim=True)
    odds = (lambda p: p / (1 - p))(torch.cat([background, present], dim=1).clamp(1e-7, 1 - 1e-7))
    torch.testing.assert_close(merged, odds / odds.sum(dim=1, keepdim=True), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("variant", ["gvos_scm", "stm_read", "no_scm", "no_refine", "no_aspp"])
@pytest.mark.parametrize("objects", [1, 3])
def test_forward_shapes(variant, objects):
    model = build_model(variant, TINY_MODEL).eval()
    frames, masks, valid = _clip(o=objects)
    with torch.no_grad():
        out = model(frames, masks, valid)
    b, t, _, h, w = frames.shape
    assert out["logits"].shape == (b, t - 1, objects + 1, h, w)
    for key in ("coarse", "refined", "coarse_logits", "refined_logits"):
        assert out[key].shape == (b, t - 1, objects, h, w) and out[key].dtype == torch.float32
    assert 0 <= out["refined"].min() and out["refined"].max() <= 1
    if variant == "no_refine":
        assert torch.equal(out["refined"], out["coarse"])


def test_layer3_backbone_and_building_blocks():
    model = build_model("gvos_scm", {**TINY_MODEL, "backbone_stage": "layer3"}).eval()
    frames = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        key, value = model.memorize(frames, torch.rand(1, 2, 64, 96))
        assert key.shape == (2, 16, 4, 6) and value.shape == (2, 32, 4, 6)
        q_key, q_value, skips = model.encode_query(frames)
        assert q_key.shape == (1, 16, 4, 6) and [s.shape[-1] for s in skips] == [12, 24]
        memory = model.new_memory()
        memory.update(key, value)
        embedding = model.readout(memory, q_key[0], q_value)
        assert embedding.shape == (2, 64, 4, 6)
        coarse, refined = model.decode(embedding, [s.expand(2, -1, -1, -1) for s in skips],
                                       torch.rand(2, 1, 64, 96), (64, 96))
        assert coarse.shape == refined.shape == (2, 1, 64, 96)


def test_gradients_reach_every_trainable_parameter():
    model = build_model("gvos_scm", TINY_MODEL).train()
    frames, masks, valid = _clip(b=2, o=2)
    out = model(frames, masks, valid)
    from methods.losses import total_loss

    target = (torch.rand(2, 2, 2, 33, 47) > 0.5).float()
    loss, _ = total_loss(out, target, valid)
    loss.backward()
    missing = [name for name, p in model.named_parameters()
               if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)]
    assert not missing


def test_freeze_bn_freezes_the_encoders_and_the_other_batchnorms_train():
    """freeze_bn (paper 4.2.3) is for the pretrained backbone: its BatchNorms are frozen, while the
    randomly initialised BatchNorms of ASPP and the refinement module keep learning (they would be
    fixed identities otherwise)."""
    model = build_model("gvos_scm", {**TINY_MODEL, "freeze_bn": True})
    for encoder in (model.memory_encoder, model.query_encoder):
        assert not any(isinstance(m, nn.BatchNorm2d) for m in encoder.modules())
        assert any(isinstance(m, FrozenBatchNorm2d) for m in encoder.modules())
    head_bns = [(name, m) for name, m in model.named_modules()
                if isinstance(m, nn.BatchNorm2d) and name.startswith(("aspp", "refiner"))]
    assert {name.split(".")[0] for name, _ in head_bns} == {"aspp", "refiner"}
    assert not any(isinstance(m, FrozenBatchNorm2d) for n, m in model.named_modules() if n.startswith(("aspp", "refiner")))
    names = {n for n, _ in model.named_parameters()}
    assert not any(n.startswith(("memory_encoder", "query_encoder")) and n.endswith(("bn1.weight", "bn2.weight"))
                   for n in names)
    frozen_before = {k: v.clone() for k, v in model.state_dict().items() if k.startswith(("memory_encoder", "query_encoder"))
                     and ("running" in k or "bn" in k)}
    head_before = {k: v.clone() for k, v in model.state_dict().items()
                   if k.startswith(("aspp", "refiner")) and "running_mean" in k}
    model.train()
    frames, masks, valid = _clip(b=2, o=1)
    out = model(frames, masks, valid)
    out["refined"].sum().backward()
    after = model.state_dict()
    assert frozen_before and all(torch.equal(frozen_before[k], after[k]) for k in frozen_before)
    assert head_before and all(not torch.equal(head_before[k], after[k]) for k in head_before)
    assert all(m.weight.requires_grad and m.weight.grad is not None for _, m in head_bns)


def test_unfrozen_batchnorm_is_trainable():
    model = build_model("gvos_scm", {**TINY_MODEL, "freeze_bn": False})
    assert any(isinstance(m, nn.BatchNorm2d) and m.weight.requires_grad for m in model.modules())


def test_forward_rejects_bad_shapes():
    model = build_model("gvos_scm", TINY_MODEL)
    frames, masks, valid = _clip()
    with pytest.raises(ValueError, match="frames"):
        model(frames[:, :1], masks, valid)
    with pytest.raises(ValueError, match="valid"):
        model(frames, masks, valid[:, :1])


def test_memory_encoder_shares_the_frame_between_object_rows():
    """conv1 on [RGB, mask, others] equals its RGB part computed once per frame plus the mask part per row."""
    encoder = ResNetEncoder("resnet18", "layer2", extra_channels=2).eval()
    g = torch.Generator().manual_seed(1)
    images, extra = torch.rand(2, 3, 32, 48, generator=g), torch.rand(5, 2, 32, 48, generator=g)
    image_of_row = torch.tensor([0, 0, 1, 1, 1])
    split = encoder.forward_rows(images, extra, image_of_row)
    whole = encoder(torch.cat([images[image_of_row], extra], dim=1))
    for a, b in zip(split, whole, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("scm", [True, False])
def test_padding_slots_change_nothing_for_the_objects(scm):
    """Object slots without an object (valid False) are not computed: the real objects' outputs equal
    those of a clip without the padding slots (BatchNorm in eval mode, so batch statistics do not enter)."""
    torch.manual_seed(0)
    model = build_model("gvos_scm" if scm else "no_scm", TINY_MODEL).eval()
    frames, masks, _ = _clip(b=2, o=3)
    valid = torch.tensor([[True, False, True], [True, True, False]])
    masks = masks * valid[:, :, None, None]
    with torch.no_grad():
        padded = model(frames, masks, valid)
        for item in range(2):
            keep = valid[item].nonzero().squeeze(1)
            alone = model(frames[item:item + 1], masks[item:item + 1, keep], valid[item:item + 1, keep])
            torch.testing.assert_close(padded["refined_logits"][item][:, keep], alone["refined_logits"][0],
                                       rtol=1e-4, atol=1e-4)
            absent = padded["refined"][item][:, ~valid[item]]
            assert absent.max() < 1e-8


def test_decoder_shares_each_image_skip_branch_between_its_rows():
    torch.manual_seed(0)
    decoder = Decoder(8, [128, 64], 16).eval()
    x = torch.rand(5, 8, 2, 3)
    skips = [torch.rand(2, 128, 4, 6), torch.rand(2, 64, 8, 12)]
    image_of_row = torch.tensor([0, 1, 1, 0, 1])
    shared = decoder(x, skips, image_of_row)
    repeated = decoder(x, [s[image_of_row] for s in skips])
    for a, b in zip(shared, repeated, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_bfloat16_training_aggregates_object_probabilities_in_float32():
    """Under bfloat16 autocast the sigmoid of the refined logits is taken in float32: a bfloat16 sigmoid
    is exactly 1.0 from logit 6.3 up, where a confidently wrong object would get no gradient."""
    torch.manual_seed(0)
    model = build_model("gvos_scm", dict(TINY_MODEL))
    frames, masks, valid = _clip()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(frames, masks, valid)
    assert out["refined_logits"].dtype == torch.bfloat16 and out["logits"].dtype == torch.float32
    expected = torch.stack([soft_aggregate(torch.sigmoid(out["refined_logits"][:, i].float()), valid)
                            for i in range(out["refined_logits"].shape[1])], dim=1)
    torch.testing.assert_close(out["logits"], expected, rtol=1e-5, atol=1e-5)
    assert torch.sigmoid(torch.tensor(6.5, dtype=torch.bfloat16)) == 1.0  # why it matters
