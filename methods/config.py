"""Network hyper-parameters: the `model:` section of the suite's config files.

The paper states neither backbone, channel counts, ASPP rates nor decoder width
(see report/paper_tables/hyperparameters.csv); the defaults follow STM, which GVOS-SCM builds on:
ResNet-50 cut after layer3 (stride 16), C_N = 128 key and C_M = 512 value channels.

ASPP is torchvision's DeepLabV3 module: a 1x1 branch, one 3x3 branch per entry of ``aspp_rates``
(the dilation), an image-pooling branch, a 1x1 projection, BatchNorm + ReLU in every branch and
Dropout(0.5) after the projection. The 1x1 branch is always there, so ``aspp_rates`` lists only the
dilated 3x3 branches: DeepLabV3 at output stride 16 uses [6, 12, 18] (the default and the paper
config); a rate of 1 would add an undilated 3x3 branch beside the 1x1 one.

``freeze_bn`` freezes the BatchNorm layers of the two ResNet encoders only (paper 4.2.3, meant for a
pretrained backbone); the randomly initialised BatchNorms of ASPP and the refinement module train.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

BACKBONES = ("resnet18", "resnet34", "resnet50")
BACKBONE_STAGES = {"layer2": 8, "layer3": 16}  # stage -> output stride
MIN_PAD_MULTIPLE = 16  # frames are padded to a multiple of this (and of the stride)
# The smallest network the suite builds (model-section overrides): the tests' and the GPU check's --tiny.
TOY_MODEL = {"backbone": "resnet18", "backbone_stage": "layer2", "key_dim": 16, "value_dim": 32,
             "decoder_dim": 32, "aspp_rates": [2, 4]}


@dataclass
class ModelConfig:
    backbone: str = "resnet50"
    backbone_stage: str = "layer3"
    weights: str | None = None
    key_dim: int = 128
    value_dim: int = 512
    readout: str = "gcm"
    mem_every: int = 1
    scm: bool = True
    aspp: bool = True
    aspp_rates: list[int] = field(default_factory=lambda: [6, 12, 18])
    refine: bool = True
    decoder_dim: int = 256
    freeze_bn: bool = True

    def __post_init__(self) -> None:
        self.aspp_rates = list(self.aspp_rates) if isinstance(self.aspp_rates, list | tuple) else self.aspp_rates
        _validate(self)

    @property
    def stride(self) -> int:
        """Output stride of the encoders (8 for layer2, 16 for layer3)."""
        return BACKBONE_STAGES[self.backbone_stage]

    @property
    def pad_multiple(self) -> int:
        """Frames are padded at the bottom / right to a multiple of this before encoding."""
        return max(MIN_PAD_MULTIPLE, self.stride)

    def feature_positions(self, height: int, width: int) -> int:
        """h * w of the encoders' top feature map for an H x W frame (after padding)."""
        pad = self.pad_multiple
        return (math.ceil(height / pad) * pad // self.stride) * (math.ceil(width / pad) * pad // self.stride)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> ModelConfig:
        """Build from a plain dict (the config file's `model:` section); ValueError on unknown keys or bad values."""
        if d is None:
            return cls()
        if not isinstance(d, dict):
            raise ValueError(f"model config must be a mapping, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"model config: unknown key(s) {unknown}; known keys: {sorted(known)}")
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate(cfg: ModelConfig) -> None:
    def bad(key: str, problem: str) -> ValueError:
        return ValueError(f"model config: {key}={getattr(cfg, key)!r}: {problem}")

    if cfg.backbone not in BACKBONES:
        raise bad("backbone", f"must be one of {list(BACKBONES)}")
    if cfg.backbone_stage not in BACKBONE_STAGES:
        raise bad("backbone_stage", f"must be one of {list(BACKBONE_STAGES)}")
    if cfg.weights is not None and (not isinstance(cfg.weights, str) or not cfg.weights):
        raise bad("weights", "must be null or a path to a local state-dict file")
    for key in ("key_dim", "value_dim", "decoder_dim", "mem_every"):
        value = getattr(cfg, key)
        if not _is_int(value) or value < 1:
            raise bad(key, "must be a positive integer")
    from methods.memory import READOUTS  # the registry (imports torch, so only when validating)

    if cfg.readout not in READOUTS:
        raise bad("readout", f"must be one of {list(READOUTS)} (methods.memory.READOUTS)")
    for key in ("scm", "aspp", "refine", "freeze_bn"):
        if not isinstance(getattr(cfg, key), bool):
            raise bad(key, "must be true or false")
    rates = cfg.aspp_rates
    if not isinstance(rates, list) or not rates or not all(_is_int(r) and r >= 1 for r in rates):
        raise bad("aspp_rates", "must be a non-empty list of positive integers")
