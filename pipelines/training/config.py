"""The ``train:`` section of the config: dataclasses, defaults and validation.

Every key is checked; an unknown key raises ``ValueError`` naming it with its full path
(e.g. ``train.main.max_skip.evry``), so a typo never silently falls back to a default.

Keys (all optional; defaults are the CPU-sized values). Frozen BatchNorm is the model section's
``freeze_bn`` (it is a property of how the network is trained, but ModelConfig owns the flag). Where a
job runs (device, threads, DataLoader workers) and the seed are not recipe: they come from the
workflow's ``resources:`` section and ``experiments.seeds`` as command-line flags of pipelines.train::

    train:
      amp: auto             # mixed precision for training and the workflow's prediction of the run:
                            # auto (float16 on CUDA, bfloat16 on a CPU with native bfloat16, else
                            # float32), true or false
      compile: false        # torch.compile (inductor) the network's shape-stable parts (pipelines.common.compiling)
      checkpoint_every: 50  # iterations between resumable state files
      log_every: 10         # iterations between loss.csv rows (averaged over the window)
      allow_untrained_backbone: false   # see below
      scm_init: default     # default (PyTorch's) or spotlight (methods.modules.SpatialConstraint.init_spotlight)
                            # for a network that starts from random weights (pretrain, main_only)
      pretrain: {iterations, batch_size, lr, weight_decay, lr_schedule, grad_clip,
                 crop: [h, w], num_frames, max_objects}
      main:     {... the same ..., max_skip: {start, step, every, unit, maximum},
                 datasets: [davis2017, davis2016, youtubevos], holdout, holdout_split, validate_every,
                 reappear_clips}
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from methods.precision import is_amp_setting
from pipelines.experiment import datasets
from pipelines.experiment.datasets import HOLDOUT_DATASET
from pipelines.experiment.stages import Stage

LR_SCHEDULES = ("constant", "cosine")
SCM_INITS = ("default", "spotlight")
MAX_LR = 1.0  # the schema's bound too: no Adam recipe of this network trains above it
SKIP_UNITS = ("iterations", "epochs")


@dataclass
class MaxSkipSchedule:
    """Maximum frame skip between sampled clip frames: ``start``, raised by ``step`` every ``every``
    iterations (or epochs, see ``unit``) up to ``maximum``. Paper: 0, +5 every 20 epochs, up to 25."""

    start: int = 0
    step: int = 5
    every: int = 20
    unit: str = "epochs"
    maximum: int = 25

    def validate(self, where: str) -> None:
        _check_nonneg(where, start=self.start, step=self.step, maximum=self.maximum)
        _check_positive(where, every=self.every)
        if self.unit not in SKIP_UNITS:
            raise ValueError(f"{where}.unit: {self.unit!r} is not one of {', '.join(SKIP_UNITS)}")
        if self.start > self.maximum:
            raise ValueError(f"{where}: start ({self.start}) exceeds maximum ({self.maximum})")

    def at(self, iteration: int, iterations_per_epoch: int = 1) -> int:
        """Maximum skip in force at (0-based) ``iteration``."""
        period = self.every * (iterations_per_epoch if self.unit == "epochs" else 1)
        return min(self.maximum, self.start + self.step * (iteration // max(1, period)))


@dataclass
class StageConfig:
    """One training stage's schedule and clip sampling."""

    iterations: int = 100
    batch_size: int = 4
    lr: float = 1e-3
    weight_decay: float = 0.0
    lr_schedule: str = "constant"
    warmup: int = 0  # iterations of linear warm-up from lr / warmup to lr (Adam's first steps, the stage switch)
    grad_clip: float = 0.0  # max global grad norm; 0 = off
    crop: list[int] = field(default_factory=lambda: [64, 112])
    num_frames: int = 3
    max_objects: int = 3

    def validate(self, where: str) -> None:
        _check_positive(where, iterations=self.iterations, batch_size=self.batch_size,
                        max_objects=self.max_objects)
        if not 0 < self.lr <= MAX_LR:
            raise ValueError(f"{where}.lr: must be finite, > 0 and <= {MAX_LR:g} (Adam diverges above), got {self.lr}")
        _check_nonneg(where, weight_decay=self.weight_decay, grad_clip=self.grad_clip, warmup=self.warmup)
        for name in ("weight_decay", "grad_clip"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{where}.{name}: must be finite, got {getattr(self, name)}")
        if self.warmup >= self.iterations:
            raise ValueError(f"{where}.warmup: {self.warmup} must be below iterations ({self.iterations})")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"{where}.lr_schedule: {self.lr_schedule!r} is not one of {', '.join(LR_SCHEDULES)}")
        if (not isinstance(self.crop, list | tuple) or len(self.crop) != 2
                or not all(isinstance(c, int) and c >= 16 for c in self.crop)):
            raise ValueError(f"{where}.crop: expected [height, width], integers >= 16, got {self.crop!r}")
        self.crop = [int(c) for c in self.crop]
        if self.num_frames < 2:
            raise ValueError(f"{where}.num_frames: need at least 2 frames (1 reference + 1 target), got {self.num_frames}")

    def lr_at(self, iteration: int) -> float:
        """Learning rate for (0-based) ``iteration``: linear warm-up over the first ``warmup`` iterations
        (from lr / warmup), then constant or a cosine decay to 0 over the remaining ones."""
        if iteration < self.warmup:
            return self.lr * (iteration + 1) / self.warmup
        if self.lr_schedule == "cosine":
            import math

            progress = (iteration - self.warmup) / max(1, self.iterations - self.warmup)
            return self.lr * 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.lr


@dataclass
class MainStageConfig(StageConfig):
    """The video stage adds the frame-skip curriculum, the training datasets, and the held-out check
    of convergence on one of two sets of videos: a DAVIS-2017 split list of its own (``holdout_split``,
    e.g. the synthetic data's ``holdout``: never trained on, never the val split), or the last
    ``holdout`` sequences of the DAVIS-2017 train list, then not trained on (for a real DAVIS root,
    which has no such split). Every ``validate_every`` iterations (and at the end) the model segments
    them and their J&F is written to the run's validation.csv (0: no validation)."""

    max_skip: MaxSkipSchedule = field(default_factory=MaxSkipSchedule)
    datasets: list[str] = field(default_factory=lambda: ["davis2017"])
    holdout: int = 0
    holdout_split: str | None = None
    validate_every: int = 0
    reappear_clips: float = 0.0  # share of clips drawn across an absence (pipelines.data.clips.VideoClipDataset)

    def validate(self, where: str) -> None:
        super().validate(where)
        _check_nonneg(where, holdout=self.holdout, validate_every=self.validate_every)
        if self.holdout_split is not None:
            if not isinstance(self.holdout_split, str) or not self.holdout_split.strip():
                raise ValueError(f"{where}.holdout_split: expected the name of a DAVIS-2017 split list or null, "
                                 f"got {self.holdout_split!r}")
            if self.holdout_split in ("train", "val"):
                raise ValueError(f"{where}.holdout_split: {self.holdout_split!r} cannot be the held-out set "
                                 "(train is trained on; val is the split whose claims the report judges)")
            if self.holdout:
                raise ValueError(f"{where}: set holdout (train videos held out) or holdout_split (a split of "
                                 "its own), not both")
        if self.validate_every and not self.has_holdout:
            raise ValueError(f"{where}.validate_every: needs held-out videos ({where}.holdout > 0 or "
                             f"{where}.holdout_split)")
        if self.holdout and HOLDOUT_DATASET not in self.datasets:
            raise ValueError(f"{where}.holdout: the held-out videos come from {HOLDOUT_DATASET}, which is not "
                             "trained on")
        self.max_skip.validate(f"{where}.max_skip")
        if not (isinstance(self.reappear_clips, int | float) and 0 <= self.reappear_clips <= 1):
            raise ValueError(f"{where}.reappear_clips: a share in 0..1, got {self.reappear_clips!r}")
        if not self.datasets:
            raise ValueError(f"{where}.datasets: name at least one of {', '.join(datasets.names())}")
        unknown = [name for name in self.datasets if name not in datasets.DATASETS]
        if unknown:
            raise ValueError(f"{where}.datasets: {unknown[0]!r} is not a registered dataset (registered: "
                             f"{', '.join(datasets.names())})")

    @property
    def has_holdout(self) -> bool:
        return bool(self.holdout or self.holdout_split)


@dataclass
class TrainConfig:
    """``allow_untrained_backbone``: frozen BatchNorm (``model.freeze_bn``) is meant for a pretrained
    backbone (``model.weights``); training with it on a random backbone is refused unless this is set."""

    amp: bool | str = "auto"
    compile: bool = False
    checkpoint_every: int = 50
    log_every: int = 10
    allow_untrained_backbone: bool = False
    scm_init: str = "default"
    pretrain: StageConfig = field(default_factory=StageConfig)
    main: MainStageConfig = field(default_factory=MainStageConfig)

    def validate(self) -> TrainConfig:
        _check_positive("train", checkpoint_every=self.checkpoint_every, log_every=self.log_every)
        if self.scm_init not in SCM_INITS:
            raise ValueError(f"train.scm_init: {self.scm_init!r} is not one of {', '.join(SCM_INITS)}")
        self.pretrain.validate("train.pretrain")
        self.main.validate("train.main")
        return self

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> TrainConfig:
        """Build and validate from the ``train:`` mapping; unknown keys -> ValueError naming them."""
        return _build(cls, data or {}, "train").validate()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def check_backbone(self, model) -> None:
        """ValueError naming model.weights when frozen BatchNorm would be trained on a random backbone
        (``model``: a methods.config.ModelConfig). Its BatchNorms would be fixed at mean 0, variance 1:
        not the paper's model, whose backbone is pretrained."""
        if model.freeze_bn and not model.weights and not self.allow_untrained_backbone:
            raise ValueError(
                "model.weights is not set but model.freeze_bn is true: the frozen BatchNorm of a randomly "
                "initialised backbone is a fixed identity, not the paper's pretrained model. Set model.weights "
                "to a local ImageNet ResNet state dict, or model.freeze_bn: false, or "
                "train.allow_untrained_backbone: true to train this way anyway.")

    def schedule(self, stage: Stage) -> StageConfig:
        """The schedule a stage trains with: ``train.pretrain`` or ``train.main`` (``Stage.schedule``)."""
        return getattr(self, stage.schedule)


_NESTED = {"pretrain": StageConfig, "main": MainStageConfig, "max_skip": MaxSkipSchedule}


def _build(cls, data: Any, where: str):
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(fields)})")
    values = {}
    for name, value in data.items():
        key = f"{where}.{name}"
        if name in _NESTED:
            values[name] = _build(_NESTED[name], value, key)
        elif name == "amp":
            if not is_amp_setting(value):
                raise ValueError(f"{key}: expected auto, true or false, got {value!r}")
            values[name] = value
        else:
            values[name] = _coerce(key, value, fields[name].default, fields[name])
    return cls(**values)


def _coerce(key: str, value: Any, default: Any, spec: dataclasses.Field) -> Any:
    """Check a scalar / list value against the type of its default (YAML gives 1e-3 as a str sometimes)."""
    if default is dataclasses.MISSING:
        default = spec.default_factory()  # type: ignore[misc]
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{key}: expected true/false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{key}: expected an integer, got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool):
            raise ValueError(f"{key}: expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{key}: expected a number, got {value!r}") from None
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ValueError(f"{key}: expected a string, got {value!r}")
        return value
    if isinstance(default, list):
        if not isinstance(value, list | tuple):
            raise ValueError(f"{key}: expected a list, got {value!r}")
        return list(value)
    return value


def _check_positive(where: str, **values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"{where}.{name}: must be > 0, got {value}")


def _check_nonneg(where: str, **values: float) -> None:
    for name, value in values.items():
        if value < 0:
            raise ValueError(f"{where}.{name}: must be >= 0, got {value}")
