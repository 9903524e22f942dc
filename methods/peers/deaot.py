"""DeAOT (Yang & Yang, NeurIPS 2022; the deaotpy package, BSD-3-Clause) behind the engine protocol of
``methods.peers``. The package's own ``DeAOTInferEngine`` does every step, as its evaluator drives it:
``add_reference_frame`` with the labelled frame, then per frame ``match_propogate_one_frame``,
``decode_current_logits`` at the input's size and ``update_memory`` with the predicted label map. Its
encoders are built without pretrained weights (the package loads those only when training); its
correlation extension is not installed, so its attention runs the package's pure-PyTorch path.

deaotpy installs top-level packages named ``aot``, ``tools`` and ``tracker``: nothing in this suite is
named so."""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F

from methods.inference import given_objects
from methods.peers.common import imagenet_normalised, tensor_bytes

MODELS = {"deaot_t": "deaott", "deaot_r50_l": "r50_deaotl"}
"""The package's model configs (aot.configs.models.<name>) by variant."""

MAX_LONG_EDGE = 480 * 1.3 * 800 / 480
"""The evaluator's defaults (tools/eval.py, one scale, no flip): the long edge at most 1040 pixels, the
short edge free, each side rounded to the nearest 16 k + 1 (align_corners)."""
STRIDE = 16


def require() -> None:
    import aot.networks.engines  # noqa: F401
    import aot.networks.models  # noqa: F401


def eval_size(height: int, width: int) -> tuple[int, int]:
    """The size DeAOT's evaluator resizes a height x width frame to (its MultiRestrictSize, one scale)."""
    scale = min(1.0, MAX_LONG_EDGE / max(height, width))
    sides = []
    for side in (int(height * scale), int(width * scale)):
        if (side - 1) % STRIDE:
            side = int(np.around((side - 1) / STRIDE) * STRIDE + 1)
        sides.append(side)
    return sides[0], sides[1]


def build(variant: str, device: str = "cpu", height: int | None = None,
          width: int | None = None) -> DeAOTEngine:
    """DeAOT-T (``deaot_t``) or R50-DeAOT-L (``deaot_r50_l``) with random weights at the evaluator's defaults
    (long-term memory gap from the model's config: never for DeAOT-T, every 5th frame for R50-DeAOT-L)."""
    from aot.configs.default import DefaultEngineConfig
    from aot.networks.models import build_vos_model

    cfg = DefaultEngineConfig("gvos_peer", MODELS[variant])
    network = build_vos_model(cfg.MODEL_VOS, cfg).to(device).eval()
    return DeAOTEngine(network, cfg, device)


class DeAOTEngine:
    """DeAOT's inference engine: step(image (3,H,W), mask (H,W) long | None, objects) -> (1+K, H, W)
    float32 on the CPU, channel i = object_ids[i-1] (the package numbers objects 1..K)."""

    def __init__(self, network, cfg, device: str = "cpu"):
        self.model, self.cfg, self.device = network, cfg, torch.device(device)
        self.reset()

    def reset(self) -> None:
        from aot.networks.engines import build_engine

        self.engine = build_engine(self.cfg.MODEL_ENGINE, phase="eval", aot_model=self.model,
                                   long_term_mem_gap=self.cfg.TEST_LONG_TERM_MEM_GAP,
                                   short_term_mem_skip=self.cfg.TEST_SHORT_TERM_MEM_SKIP).eval()
        self.objects: list[int] = []
        self.frame_step = 0

    @property
    def object_ids(self) -> list[int]:
        return list(self.objects)

    def _input(self, image: torch.Tensor) -> torch.Tensor:
        frame = imagenet_normalised(image, self.device).unsqueeze(0)
        size = eval_size(*frame.shape[-2:])
        if tuple(frame.shape[-2:]) != size:
            frame = F.interpolate(frame, size=size, mode="bilinear", align_corners=True)
        return frame

    @torch.inference_mode()
    def step(self, image: torch.Tensor, mask: torch.Tensor | None = None, objects: list[int] | None = None):
        height, width = image.shape[-2:]
        frame = self._input(image)
        if mask is not None:
            mask = mask.to(self.device)
            self.objects = given_objects(mask, objects, (height, width))
            label = torch.zeros_like(mask, dtype=torch.float32)
            for index, obj in enumerate(self.objects, start=1):
                label[mask == obj] = index
            label = F.interpolate(label[None, None], size=frame.shape[-2:], mode="nearest")
            self.frame_step = 0
            self.engine.add_reference_frame(frame, label, frame_step=0, obj_nums=[len(self.objects)])
            one_hot = torch.stack([(mask == obj).float() for obj in self.objects])
            return torch.cat([1 - one_hot.sum(0, keepdim=True), one_hot]).float().cpu()
        if not self.objects:
            raise RuntimeError("DeAOT: the first step needs a mask")
        self.frame_step += 1
        self.engine.match_propogate_one_frame(frame)
        logits = self.engine.decode_current_logits((height, width))
        probs = torch.softmax(logits, dim=1)
        label = torch.argmax(probs, dim=1, keepdim=True).float()
        self.engine.update_memory(F.interpolate(label, size=self.engine.input_size_2d, mode="nearest"))
        return probs[0, : len(self.objects) + 1].float().cpu()

    def memory_bytes(self) -> int:
        """Bytes of what each sub-engine carries from frame to frame: its long-term memory (the reference
        frame and one frame per gap) and its short-term memory (the last frame); the current frame's
        encodings, recomputed every frame, are not counted."""
        kept = [(engine.long_term_memories, engine.short_term_memories_list, engine.short_term_memories)
                for engine in self.engine.aot_engines]
        return tensor_bytes(kept, ("aot",), self.model)

    def memory_frames(self) -> int:
        """Frames in the long-term memory (the reference frame plus one per gap) plus the short-term one."""
        if not self.engine.aot_engines:
            return 0
        long_term = self.engine.aot_engines[0].long_term_memories
        positions = self.engine.enc_hw
        frames = long_term[0][0].shape[0] // positions if long_term else 0
        return frames + (1 if self.frame_step > 0 else 0)

    def snapshot(self):
        """The per-video state: a deep copy of the package's engine that shares the network."""
        return copy.deepcopy((self.engine, self.objects, self.frame_step), memo={id(self.model): self.model})

    def restore(self, state) -> None:
        self.engine, self.objects, self.frame_step = copy.deepcopy(state, memo={id(self.model): self.model})
