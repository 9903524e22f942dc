"""GVOSNet: the GVOS-SCM network (paper sec. 3); every ablation is a ModelConfig switch.

Pipeline for one frame (fig. 2): query encoder -> readout from the memory (GCM or STM bank)
concatenated with the query value -> ASPP -> SCM -> decoder with query skips (stride 4) ->
residual refinement -> per-object probabilities -> soft aggregation over objects.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models.segmentation.deeplabv3 import ASPP

from methods.backbone import ResNetEncoder, freeze_batchnorm
from methods.config import ModelConfig
from methods.memory import Readout, build_memory
from methods.modules import Decoder, ResidualRefinement, SpatialConstraint, soft_aggregate, upsample_to

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
ABSENT_LOGIT = -20.0  # training output of an object slot that holds no object (max_objects padding)


def pad_to_multiple(x: Tensor, multiple: int, mode: str = "constant") -> tuple[Tensor, tuple[int, int]]:
    """Pad the last two dims at the bottom / right to a multiple; returns (padded, (H, W) before)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        if mode == "replicate":
            lead = x.shape[:-3]
            x = F.pad(x.reshape(-1, *x.shape[-3:]), (0, pw, 0, ph), mode="replicate").reshape(*lead, -1, h + ph, w + pw)
        else:
            x = F.pad(x, (0, pw, 0, ph))
    return x, (h, w)


class GVOSNet(nn.Module):
    """The network. Building blocks (used by the training forward and by the inference engine):

    - ``encode_memory(frames (N,3,H,W), masks (R,1,H,W), others (R,1,H,W), image_of_row (R,) | None)`` ->
      key (R,C_N,h,w), value (R,C_M,h,w); without image_of_row, R = N and row i is frame i, or N = 1
    - ``memorize(frame (B,3,H,W), probs (B,O,H,W), rows (R,) | None)`` -> key, value of the given rows of the
      B*O (object-major within a batch item; None: all of them)
    - ``encode_query(frames (B,3,H,W))`` -> key (B,C_N,h,w), value (B,C_M,h,w), skips coarse-to-fine
    - ``readout(memory, query_key, query_value (N,C_M,h,w), transform=None)`` -> embedding (N, 2 C_M, h, w);
      ``transform`` maps the memory's read (N,C_M,h,w) to its replacement (test-time interventions)
    - ``decode(embedding (R,...), skips (N,...) per image, prev_mask (R,1,H,W), size, image_of_row (R,) | None)``
      -> coarse, refined logits (R,1,H,W)
    - ``new_memory()`` -> an empty GCM or STM memory for this config.
    Frames are float [0, 1]; ImageNet normalisation happens inside. H, W must be multiples of
    ``pad_multiple`` for the building blocks; ``forward`` pads by itself.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.memory_encoder = ResNetEncoder(cfg.backbone, cfg.backbone_stage, cfg.weights, extra_channels=2)
        self.query_encoder = ResNetEncoder(cfg.backbone, cfg.backbone_stage, cfg.weights)
        top = self.query_encoder.channels[-1]
        self.memory_key = nn.Conv2d(top, cfg.key_dim, 3, padding=1)
        self.memory_value = nn.Conv2d(top, cfg.value_dim, 3, padding=1)
        self.query_key = nn.Conv2d(top, cfg.key_dim, 3, padding=1)
        self.query_value = nn.Conv2d(top, cfg.value_dim, 3, padding=1)
        embedding = 2 * cfg.value_dim
        if cfg.aspp:
            self.aspp = ASPP(embedding, cfg.aspp_rates, cfg.decoder_dim)
            embedding = cfg.decoder_dim
        else:
            self.aspp = None
        self.scm = SpatialConstraint(embedding) if cfg.scm else None
        skip_channels = list(reversed(self.query_encoder.channels[:-1]))
        self.decoder = Decoder(embedding, skip_channels, cfg.decoder_dim)
        self.refiner = ResidualRefinement(cfg.decoder_dim) if cfg.refine else None
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        if cfg.freeze_bn:  # the pretrained encoders only: ASPP and refinement BatchNorms start random and train
            freeze_batchnorm(self.memory_encoder)
            freeze_batchnorm(self.query_encoder)

    @property
    def stride(self) -> int:
        return self.cfg.stride

    @property
    def pad_multiple(self) -> int:
        return self.cfg.pad_multiple

    def new_memory(self) -> Readout:
        return build_memory(self.cfg)

    def normalize(self, frames: Tensor) -> Tensor:
        return (frames - self.mean.to(frames.dtype)) / self.std.to(frames.dtype)

    # ---- building blocks -------------------------------------------------------------------
    def encode_memory(self, frames: Tensor, masks: Tensor, others: Tensor,
                      image_of_row: Tensor | None = None) -> tuple[Tensor, Tensor]:
        extra = torch.cat([masks, others], dim=1)
        top = self.memory_encoder.forward_rows(self.normalize(frames), extra, image_of_row)[-1]
        return self.memory_key(top), self.memory_value(top)

    def memorize(self, frame: Tensor, probs: Tensor, rows: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """frame (B,3,H,W), probs (B,O,H,W) -> key/value of each object row, with the sum of the other
        objects' probabilities as its 'others' channel (STM); ``rows`` indexes the B*O rows to encode."""
        b, o = probs.shape[:2]
        others = (probs.sum(dim=1, keepdim=True) - probs).clamp(0.0, 1.0)
        masks, others = probs.reshape(b * o, 1, *probs.shape[-2:]), others.reshape(b * o, 1, *probs.shape[-2:])
        if rows is None and b == 1:  # inference: one frame shared by every row
            return self.encode_memory(frame, masks, others)
        if rows is None:
            rows = torch.arange(b * o, device=probs.device)
        return self.encode_memory(frame, masks[rows], others[rows], torch.div(rows, o, rounding_mode="floor"))

    def encode_query(self, frames: Tensor) -> tuple[Tensor, Tensor, list[Tensor]]:
        feats = self.query_encoder(self.normalize(frames))
        top = feats[-1]
        return self.query_key(top), self.query_value(top), list(reversed(feats[:-1]))

    def readout(self, memory, query_key: Tensor, query_value: Tensor,
                transform: Callable[[Tensor], Tensor] | None = None) -> Tensor:
        read = memory.read(query_key)
        if transform is not None:
            read = transform(read)
        return torch.cat([read.to(query_value.dtype), query_value.expand(read.shape[0], -1, -1, -1)], dim=1)

    def decode(self, embedding: Tensor, skips: list[Tensor], prev_mask: Tensor, size: tuple[int, int],
               image_of_row: Tensor | None = None) -> tuple[Tensor, Tensor]:
        x = self.aspp(embedding) if self.aspp is not None else embedding
        if self.scm is not None:
            x = self.scm(x, prev_mask)
        features, coarse = self.decoder(x, skips, image_of_row)
        refined = self.refiner(coarse, features) if self.refiner is not None else coarse
        coarse_full = upsample_to(coarse, size)
        refined_full = upsample_to(refined, size) if self.refiner is not None else coarse_full
        return coarse_full, refined_full

    # ---- training forward ------------------------------------------------------------------
    def forward(self, frames: Tensor, first_masks: Tensor, valid: Tensor) -> dict[str, Tensor]:
        """frames (B,T,3,H,W) float [0,1], first_masks (B,O,H,W), valid (B,O) bool ->
        logits (B,T-1,O+1,H,W) soft-aggregated; coarse, refined (B,T-1,O,H,W) probabilities;
        coarse_logits, refined_logits (B,T-1,O,H,W). Frames 1..T-1 are segmented in order, each
        prediction written to the memory and given to the next frame's SCM (STM-style training).
        With refine=False, refined is the coarse map.

        Only the object slots that hold an object (``valid``) are encoded, read and decoded; the others
        (padding up to O) get the constant ``ABSENT_LOGIT``: computing their rows would waste the work and
        put them in the batch statistics of the trainable BatchNorms (unless fewer than two slots are valid
        in the whole batch: BatchNorm needs two rows, so then every slot is computed)."""
        if frames.dim() != 5 or frames.shape[2] != 3 or frames.shape[1] < 2:
            raise ValueError(f"frames must be (B,T>=2,3,H,W), got {tuple(frames.shape)}")
        b, t = frames.shape[:2]
        o = first_masks.shape[1]
        if first_masks.shape != (b, o, *frames.shape[-2:]) or valid.shape != (b, o):
            raise ValueError(f"first_masks {tuple(first_masks.shape)} / valid {tuple(valid.shape)} do not match "
                             f"frames {tuple(frames.shape)}")
        frames, (h, w) = pad_to_multiple(frames, self.pad_multiple, mode="replicate")
        masks, _ = pad_to_multiple(first_masks.to(frames.dtype), self.pad_multiple)
        size = frames.shape[-2:]
        masks = masks * valid.to(masks.dtype)[:, :, None, None]
        rows = valid.reshape(-1).nonzero().squeeze(1)
        if rows.numel() < 2:
            rows = torch.arange(b * o, device=valid.device)
        image_of_row = torch.div(rows, o, rounding_mode="floor")
        memory = self.new_memory()
        memory.update(*self.memorize(frames[:, 0], masks, rows))
        prev = masks.reshape(b * o, 1, *size)[rows]
        outputs: dict[str, list[Tensor]] = {"logits": [], "coarse_logits": [], "refined_logits": []}
        for i in range(1, t):
            q_key, q_value, skips = self.encode_query(frames[:, i])
            q_key, q_value = q_key[image_of_row], q_value[image_of_row]
            embedding = self.readout(memory, q_key, q_value)
            coarse, refined = (self._all_slots(x, rows, b * o).reshape(b, o, *size)
                               for x in self.decode(embedding, skips, prev, size, image_of_row))
            # float32: a bfloat16 sigmoid is 1.0 for logits >= 6.3, so a confidently wrong object would
            # get no gradient through the aggregation (inference aggregates in float32 too)
            logits = soft_aggregate(torch.sigmoid(refined.float()), valid)
            outputs["logits"].append(logits)
            outputs["coarse_logits"].append(coarse)
            outputs["refined_logits"].append(refined)
            if i < t - 1:
                probs = torch.softmax(logits, dim=1)[:, 1:]
                prev = probs.reshape(b * o, 1, *size)[rows]
                memory.update(*self.memorize(frames[:, i], probs, rows))
        result = {k: torch.stack(v, dim=1)[..., :h, :w] for k, v in outputs.items()}
        result["coarse"] = torch.sigmoid(result["coarse_logits"].float())
        if self.refiner is None:  # one map: the loss then counts it once
            result["refined_logits"] = result["coarse_logits"]
        result["refined"] = torch.sigmoid(result["refined_logits"].float()) if self.refiner is not None else result["coarse"]
        return result

    @staticmethod
    def _all_slots(x: Tensor, rows: Tensor, slots: int) -> Tensor:
        """(R, 1, H, W) maps of the computed rows -> (slots, 1, H, W), ABSENT_LOGIT elsewhere."""
        if rows.numel() == slots:
            return x
        full = x.new_full((slots, *x.shape[1:]), ABSENT_LOGIT)
        return full.index_copy(0, rows, x)
