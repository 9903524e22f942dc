"""One optimisation step of a GVOSNet on a clip batch, and the state that resumes it.

``Trainer.step(batch, iteration)`` runs the sections of ``STEP_SECTIONS`` in order: ``data`` (the
batch to the device), ``forward`` (network and loss), ``backward``, ``optimizer`` (gradient clipping
and the Adam step). ``hook``, a callable ``name -> context manager``, brackets each section (the
training benchmark's clock); None costs nothing.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager

import torch
from torch import nn

from methods import losses
from methods.precision import amp_dtype, emulates_bfloat16, resolve_amp
from pipelines.training.config import StageConfig
from pipelines.training.data import derive_seed, seed_everything
from pipelines.training.distributed import global_map_count, sync_batch_norm

log = logging.getLogger("gvos.train")

STEP_SECTIONS = ("data", "forward", "backward", "optimizer")
RNG_STREAM = 1_000_003  # offset of the per-step RNG stream (dropout) from the data slots' streams

SectionHook = Callable[[str], AbstractContextManager]


class NonFiniteTraining(ValueError):
    """The loss or the gradient of an iteration is NaN or infinite; the optimiser step was not taken."""

    def __init__(self, what: str, iteration: int, lr: float):
        self.what, self.iteration, self.lr = what, iteration, lr
        super().__init__(f"non-finite {what} at iteration {iteration + 1} (lr {lr:g})")


def configure_torch(device: torch.device) -> None:
    """Global torch settings of a training process (pipelines.train and the training benchmark alike):
    deterministic kernels on the CPU (bit-identical resume), without filling every new tensor with NaN
    first (deterministic mode's default; it only guards against reading uninitialised memory)."""
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.utils.deterministic.fill_uninitialized_memory = False


class Trainer:
    """Model, Adam optimiser and gradient scaler of one run on one device.

    With world > 1 (one process per GPU, each given its slice of the global batch) the model is DDP-wrapped,
    its BatchNorms take their statistics over all ranks and the loss is normalised by the global count of
    valid maps: the ranks together compute one process's step on the global batch (pipelines.training.
    distributed says what differs: the dropout masks)."""

    def __init__(self, model: nn.Module, stage_cfg: StageConfig, device: torch.device, amp: bool | str = False,
                 seed: int = 0, rank: int = 0, world: int = 1, channels_last: bool = True):
        if world > 1:
            model = sync_batch_norm(model)
        # channels-last convolutions: 14% faster training steps on the CPU (measured; docs/findings.md)
        self.model = model.to(device, memory_format=torch.channels_last if channels_last else torch.preserve_format)
        self.model.train()  # frozen BatchNorm (model.freeze_bn) is FrozenBatchNorm2d: train() leaves it alone
        self.cfg = stage_cfg
        self.device = device
        self.seed, self.rank = seed, rank
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(self.params, lr=stage_cfg.lr, weight_decay=stage_cfg.weight_decay)
        self.amp = resolve_amp(amp, device)  # autocast: float16 with a gradient scaler on CUDA, bfloat16 on the CPU
        if emulates_bfloat16(self.amp, device) and rank == 0:
            log.warning("train.amp is on but this CPU has no native bfloat16: PyTorch emulates it, several "
                        "times slower than float32 (train.amp: auto picks float32 here)")
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp and device.type == "cuda")
        self.net = self.model
        if world > 1:
            ids = [device.index] if device.type == "cuda" else None
            self.net = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scaler.is_enabled() and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        elif self.scaler.is_enabled():  # saved without a scaler (CPU, float32): it starts from its defaults
            log.warning("the resumed state has no gradient-scaler state (saved without float16); starting it fresh")

    def step(self, batch: dict[str, torch.Tensor], iteration: int,
             hook: SectionHook | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        """One iteration on ``batch`` (frames (B,T,3,H,W), masks (B,T,O,H,W), valid (B,O)); returns the
        loss (detached scalar tensor) and its named parts (floats)."""
        section = (lambda name: contextlib.nullcontext()) if hook is None else hook
        seed_everything(derive_seed(self.seed, iteration, RNG_STREAM + self.rank))
        lr = self.cfg.lr_at(iteration)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        with section("data"):
            frames = batch["frames"].to(self.device, non_blocking=True)
            masks = batch["masks"].to(self.device, non_blocking=True)
            valid = batch["valid"].to(self.device, non_blocking=True)
        with section("forward"):
            with torch.autocast(self.device.type, dtype=amp_dtype(self.device), enabled=self.amp):
                output = self.net(frames, masks[:, 0], valid)
            loss, parts = losses.total_loss({k: v.float() for k, v in output.items()}, masks[:, 1:], valid,
                                     map_count=global_map_count(valid, masks.shape[1] - 1))
        parts.pop("total", None)  # the same number as loss
        if not torch.isfinite(loss):
            raise NonFiniteTraining("loss", iteration, lr)
        with section("backward"):
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
        with section("optimizer"):
            self.scaler.unscale_(self.optimizer)
            clip = self.cfg.grad_clip if self.cfg.grad_clip > 0 else float("inf")
            norm = torch.nn.utils.clip_grad_norm_(self.params, clip)  # the norm before clipping
            # float16's scaler skips a step with inf gradients and lowers its scale: normal, not divergence
            if not torch.isfinite(norm) and not self.scaler.is_enabled():
                raise NonFiniteTraining("gradient", iteration, lr)
            self.scaler.step(self.optimizer)
            self.scaler.update()
        parts["grad_norm"] = float(norm)
        return loss.detach(), parts
