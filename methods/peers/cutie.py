"""Cutie (Cheng et al., CVPR 2024; the rf-cutie package, MIT) behind the engine protocol of
``methods.peers``. Its ``InferenceCore.step(image, mask, objects)`` already returns (1+K, H, W)
probabilities; the adapter builds the network from the package's own Hydra configs with random weights
(its pixel encoder's constructor loads ImageNet weights by file name: a randomly initialised state dict of
that name in a temporary folder stands in, so nothing is downloaded) and snapshots the per-video state by
a deep copy that shares the network."""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path

import torch

from methods.inference import given_objects
from methods.peers.common import tensor_bytes

RESNET_FILES = {"resnet18": "resnet18-5c106cde.pth", "resnet50": "resnet50-19c8e357.pth"}
"""The file names Cutie's pixel encoder asks torch's model zoo for (its model_urls)."""

DEFAULTS_OF = "d17-val"
"""The dataset entry of Cutie's eval_config.yaml whose inference settings the benchmark uses."""


def require() -> None:
    """ImportError unless the package and what it imports are installed."""
    import cutie.inference.inference_core  # noqa: F401
    import hydra  # noqa: F401


def _config(variant: str):
    import cutie
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    config_dir = str(Path(next(iter(cutie.__path__))) / "config")
    GlobalHydra.instance().clear()  # Hydra is process-global: another package's config would hide this one
    try:
        with initialize_config_dir(version_base="1.3.2", config_dir=config_dir, job_name="gvos_peer"):
            cfg = compose(config_name="eval_config", overrides=[f"model={variant}"])
    finally:
        GlobalHydra.instance().clear()
    return cfg


def build(variant: str, device: str = "cpu", height: int | None = None,
          width: int | None = None) -> CutieEngine:
    """Cutie ``small`` or ``base`` with random weights, at the published DAVIS-2017 val defaults."""
    import torchvision
    from cutie.model.cutie import CUTIE
    from omegaconf import open_dict

    cfg = _config(variant)
    with tempfile.TemporaryDirectory(prefix="gvos-peer-") as weights, open_dict(cfg):
        for name, file in RESNET_FILES.items():  # the mask encoder is a ResNet-18 whatever the pixel encoder
            torch.save(getattr(torchvision.models, name)().state_dict(), os.path.join(weights, file))
        cfg.model.resnet_model_path = weights
        davis = cfg.datasets[DEFAULTS_OF]  # the memory settings Cutie evaluates DAVIS-2017 val with
        cfg.mem_every, cfg.use_long_term = davis.mem_every, davis.use_long_term
        network = CUTIE(cfg).to(device).eval()
    return CutieEngine(network, cfg, device)


class CutieEngine:
    """Cutie's InferenceCore as an engine: step(image (3,H,W), mask (H,W) long | None, objects) ->
    (1+K, H, W) float32 on the CPU, channel i = object_ids[i-1]."""

    def __init__(self, network, cfg, device: str = "cpu"):
        self.model, self.cfg, self.device = network, cfg, torch.device(device)
        self.reset()

    def reset(self) -> None:
        from cutie.inference.inference_core import InferenceCore

        self.core = InferenceCore(self.model, cfg=self.cfg)

    @property
    def object_ids(self) -> list[int]:
        return list(self.core.object_manager.all_obj_ids)

    @torch.inference_mode()
    def step(self, image: torch.Tensor, mask: torch.Tensor | None = None, objects: list[int] | None = None):
        image = image.to(self.device, torch.float32)
        if mask is None:
            probs = self.core.step(image)
        else:
            mask = mask.to(self.device)
            objects = given_objects(mask, objects, tuple(image.shape[-2:]))
            probs = self.core.step(image, mask, objects=objects)
        return probs.float().cpu()

    def memory_bytes(self) -> int:
        """Bytes the per-video state keeps: Cutie's memory manager (working, sensory and object memory) and
        the last mask."""
        return tensor_bytes((self.core.memory, self.core.last_mask), ("cutie",), self.model)

    def memory_frames(self) -> int:
        """Frames in the working memory (Cutie keeps at most max_mem_frames of them): its tokens over the
        positions of one frame, in the largest bucket."""
        memory = self.core.memory
        if not memory.engaged or not memory.HW:
            return 0
        return max(memory.work_mem.size(bucket) for bucket in memory.work_mem.buckets) // memory.HW

    def snapshot(self):
        """The per-video state: a deep copy of the inference core that shares the network."""
        return copy.deepcopy(self.core, memo={id(self.model): self.model})

    def restore(self, state) -> None:
        self.core = copy.deepcopy(state, memo={id(self.model): self.model})
