"""STCN (Cheng et al., NeurIPS 2021; the stcnbuf package, MIT) behind the engine protocol of
``methods.peers``. The package's ``STCNInference.predict_batch`` does every step after the first; its
``initialize`` moves the frame to CUDA, so the first frame is done here with the package's own calls
(key and value encoders, soft aggregation, padding to a multiple of 16, its ``MemoryBank``). Its
encoders' constructors load ImageNet ResNets from torch's hub folder by file name: randomly initialised
state dicts of those names in a temporary hub folder stand in, so nothing is downloaded."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import torch

from methods.inference import given_objects
from methods.peers.common import imagenet_normalised, tensor_bytes

HUB_FILES = {"resnet18": "resnet18-5c106cde.pth", "resnet50": "resnet50-0676ba61.pth"}
"""The files STCN's value encoder (model_zoo, ResNet-18) and key encoder (torchvision's IMAGENET1K_V1
ResNet-50) ask torch's hub for."""

MEM_EVERY = 5
TOP_K = 20
"""STCN's published DAVIS inference defaults (eval_davis.py): a memory frame every 5th frame, top-20
affinities, every memory frame kept (no cap), the frame at its own size."""



def require() -> None:
    import stcnbuf.model.eval_network  # noqa: F401


def _with_random_hub_weights(make):
    """``make()`` with torch's hub folder pointing at random stand-ins for the ImageNet files."""
    import torchvision

    previous = torch.hub.get_dir()
    with tempfile.TemporaryDirectory(prefix="gvos-peer-") as hub:
        (Path(hub) / "checkpoints").mkdir()
        for name, file in HUB_FILES.items():
            torch.save(getattr(torchvision.models, name)().state_dict(), Path(hub) / "checkpoints" / file)
        torch.hub.set_dir(hub)
        try:
            return make()
        finally:
            torch.hub.set_dir(previous)


def build(variant: str, device: str = "cpu", height: int | None = None,
          width: int | None = None) -> STCNEngine:
    """STCN with random weights at its published DAVIS defaults (``variant``: ``default``, the only one)."""
    from stcnbuf.model.eval_network import STCN

    network = _with_random_hub_weights(STCN).to(device).eval()
    return STCNEngine(network, device)


class STCNEngine:
    """STCN as an engine: step(image (3,H,W), mask (H,W) long | None, objects) -> (1+K, H, W) float32 on
    the CPU, channel i = object_ids[i-1]. Memory: the first frame and every 5th frame after it."""

    def __init__(self, network, device: str = "cpu"):
        from stcnbuf.model.eval_network import STCNInference

        self.model, self.device = network, torch.device(device)
        self.inference = STCNInference(network, mem_size=float("inf"), temp_mem_size=0, topk=TOP_K,
                                       target_resolution=None)
        self.reset()

    def reset(self) -> None:
        self.inference.memory_bank = None
        self.index = 0  # frames since the labelled one
        self.objects: list[int] = []
        self.positions = 0  # memory positions of one frame (1/16 of the padded frame)

    @property
    def object_ids(self) -> list[int]:
        return list(self.objects)

    @torch.inference_mode()
    def step(self, image: torch.Tensor, mask: torch.Tensor | None = None, objects: list[int] | None = None):
        frame = imagenet_normalised(image, self.device).unsqueeze(0)
        if mask is not None:
            return self._first(frame, mask.to(self.device), objects)
        if self.inference.memory_bank is None:
            raise RuntimeError("STCN: the first step needs a mask")
        self.index += 1
        probs = self.inference.predict_batch(frame, add_last_to_memory=self.index % MEM_EVERY == 0)
        return probs[:, 0].float().cpu()

    def _first(self, frame: torch.Tensor, mask: torch.Tensor, objects: list[int] | None) -> torch.Tensor:
        """The labelled frame into the memory bank (STCNInference.initialize without its CUDA move)."""
        from stcnbuf.inference_memory_bank import MemoryBank
        from stcnbuf.model.eval_network import aggregate, pad_divide_by

        self.objects = given_objects(mask, objects, tuple(frame.shape[-2:]))
        self.index = 0
        one_hot = torch.stack([(mask == obj).float() for obj in self.objects]).unsqueeze(1)  # (K, 1, H, W)
        padded_masks, _ = pad_divide_by(one_hot, 16)
        padded_frame, _ = pad_divide_by(frame, 16)
        key, _, f16, _, _ = self.model.encode_key(padded_frame)
        value = self.model.encode_value(padded_frame, f16, aggregate(padded_masks)[1:])
        bank = MemoryBank(k=len(self.objects), top_k=TOP_K, memory_size=float("inf"), temp_memory_size=0)
        bank.add_memory(key.squeeze(0), value.squeeze(1))
        self.inference.memory_bank = bank
        self.positions = key.shape[-2] * key.shape[-1]
        background = 1 - one_hot.sum(0)
        return torch.cat([background, one_hot[:, 0]]).float().cpu()

    def memory_bytes(self) -> int:
        """Bytes of the memory bank's keys and values (STCN keeps every memory frame)."""
        return tensor_bytes(self.inference.memory_bank, ("stcnbuf",), self.model)

    def memory_frames(self) -> int:
        bank = self.inference.memory_bank
        return 0 if bank is None or not bank.has_mem else bank.mem_k.shape[2] // self.positions

    def snapshot(self):
        """The per-video state: a deep copy of the memory bank and the frame counter."""
        return copy.deepcopy((self.inference.memory_bank, self.index, self.objects, self.positions))

    def restore(self, state) -> None:
        self.inference.memory_bank, self.index, self.objects, self.positions = copy.deepcopy(state)
