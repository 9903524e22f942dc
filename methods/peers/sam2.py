"""SAM 2.1 (Ravi et al., 2024; the sam2 package, Apache-2.0) behind the engine protocol of
``methods.peers``. The package's own video predictor does every step: ``init_state`` on a folder holding
the labelled frame (its video API reads frames from disk), ``add_new_mask`` per object, then one
``propagate_in_video`` call per new frame, which the adapter hands to the predictor's state as the next
frame index. The network is built from the package's Hydra configs without a checkpoint (random weights).

SAM 2 keeps every frame's memory features and object pointers for the whole video and reads the last 6,
the labelled frame and up to 16 pointers: per-frame work stops growing after a few frames, storage does
not. Its state cannot be copied and put back (the predictor tracks which frames it has seen), so the
benchmark times it in successive steps (``exact_snapshot = False``). The video itself, which SAM 2's own
loader keeps whole, is the user's input: the adapter hands it the labelled and the current frame only,
and ``memory_bytes`` leaves out frames and the current frame's image features."""

from __future__ import annotations

import contextlib
import copy
import io
import math
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from methods.inference import given_objects
from methods.peers.common import imagenet_normalised, tensor_bytes

CONFIGS = {
    "tiny": "configs/sam2.1/sam2.1_hiera_t.yaml", "small": "configs/sam2.1/sam2.1_hiera_s.yaml",
    "base_plus": "configs/sam2.1/sam2.1_hiera_b+.yaml", "large": "configs/sam2.1/sam2.1_hiera_l.yaml",
}
SIDE_MULTIPLE = 64
"""The equal-pixels setting's square side is rounded to this (Hiera's strides and windows divide it)."""
STATE_LEFT_OUT = ("images", "cached_features")
"""Inference-state entries that are not memory: the video's frames and the current frame's features."""


def require() -> None:
    import hydra  # noqa: F401
    import iopath  # noqa: F401
    import sam2.build_sam  # noqa: F401


def equal_pixels_side(height: int, width: int) -> int:
    """The side of the square with about the input's pixels, a multiple of 64 (240x432: 320; 480x854: 640)."""
    return max(SIDE_MULTIPLE, SIDE_MULTIPLE * round(math.sqrt(height * width) / SIDE_MULTIPLE))


def build(variant: str, device: str = "cpu", height: int | None = None, width: int | None = None) -> SAM2Engine:
    """SAM 2.1 ``tiny`` / ``small`` / ``base_plus`` / ``large`` with random weights: at its published 1024
    square, or with ``_equal_pixels`` at a square of the input's pixel count (``equal_pixels_side``)."""
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra
    from sam2.build_sam import build_sam2_video_predictor

    size, equal = variant.removesuffix("_equal_pixels"), variant.endswith("_equal_pixels")
    overrides = [f"++model.image_size={equal_pixels_side(height, width)}"] if equal else []
    GlobalHydra.instance().clear()  # Hydra is process-global: another package's config would hide this one
    try:
        initialize_config_module("sam2", version_base="1.2")
        predictor = build_sam2_video_predictor(CONFIGS[size], ckpt_path=None, device=device,
                                               hydra_overrides_extra=overrides)
    finally:
        GlobalHydra.instance().clear()
    return SAM2Engine(predictor, device)


def _probabilities(logits: torch.Tensor) -> torch.Tensor:
    """(K, 1, H, W) per-object logits (SAM 2 segments objects independently) -> (1+K, H, W) summing to 1:
    background the product of the objects' absences, then normalised."""
    objects = torch.sigmoid(logits[:, 0].float())
    stacked = torch.cat([torch.prod(1 - objects, dim=0, keepdim=True), objects])
    return stacked / stacked.sum(0, keepdim=True).clamp_min(1e-7)


class SAM2Engine:
    """SAM 2's video predictor as an engine: step(image (3,H,W), mask (H,W) long | None, objects) ->
    (1+K, H, W) float32 on the CPU, channel i = object_ids[i-1]."""

    exact_snapshot = False  # snapshot() is a handle on the live state: the benchmark steps it successively

    def __init__(self, predictor, device: str = "cpu"):
        self.model, self.device = predictor, torch.device(device)
        self.side = predictor.image_size
        self.reset()

    def reset(self) -> None:
        self.state: dict | None = None

    @property
    def object_ids(self) -> list[int]:
        return [] if self.state is None else list(self.state["obj_ids"])

    def _input(self, image: torch.Tensor) -> torch.Tensor:
        """The frame as SAM 2's loader gives it: resized to its square, normalised."""
        square = F.interpolate(image.to(self.device, torch.float32)[None], size=(self.side, self.side),
                               mode="bilinear", align_corners=False)[0]
        return imagenet_normalised(square, self.device)

    @torch.inference_mode()
    def step(self, image: torch.Tensor, mask: torch.Tensor | None = None, objects: list[int] | None = None):
        if mask is not None:
            return self._first(image, mask.to(self.device), objects)
        if self.state is None:
            raise RuntimeError("SAM 2: the first step needs a mask")
        index = self.state["num_frames"]
        self.state["images"] = {0: self.state["images"][0], index: self._input(image)}
        self.state["num_frames"] = index + 1
        # its generator draws a progress bar for every call: one frame each here
        with contextlib.redirect_stderr(io.StringIO()):
            (_, _, logits), = self.model.propagate_in_video(self.state, start_frame_idx=index,
                                                             max_frame_num_to_track=1)
        return _probabilities(logits).cpu()

    def _first(self, image: torch.Tensor, mask: torch.Tensor, objects: list[int] | None) -> torch.Tensor:
        from PIL import Image

        objects = given_objects(mask, objects, tuple(image.shape[-2:]))
        pixels = (image.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()
        with tempfile.TemporaryDirectory(prefix="gvos-peer-") as folder:
            Image.fromarray(np.ascontiguousarray(pixels)).save(Path(folder) / "0.jpg", quality=95)
            with contextlib.redirect_stderr(io.StringIO()):  # its frame loader's progress bar
                self.state = self.model.init_state(folder)
        self.state["images"] = {0: self._input(image)}
        for obj in objects:
            _, _, logits = self.model.add_new_mask(self.state, frame_idx=0, obj_id=obj, mask=mask == obj)
        return _probabilities(logits).cpu()

    def fill(self, first: torch.Tensor, mask: torch.Tensor, objects: list[int], t: int) -> None:
        """The state after t frames: the labelled frame, one real step of it as the next frame, then that
        frame's outputs copied (new tensors) to the frame indices up to t - 1, as t - 2 more steps would
        leave them; the next step reads the same number of memory frames and pointers as after t real ones."""
        self.reset()
        self.step(first, mask, objects)
        if t < 2:
            return
        self.step(first)
        for obj_idx, outputs in self.state["output_dict_per_obj"].items():
            frame_one = outputs["non_cond_frame_outputs"][1]
            for index in range(2, t):
                outputs["non_cond_frame_outputs"][index] = copy.deepcopy(frame_one)
                self.state["frames_tracked_per_obj"][obj_idx][index] = {"reverse": False}
        self.state["num_frames"] = t

    def memory_bytes(self) -> int:
        """Bytes of the inference state but the frames and the current frame's features: every frame's
        memory features, masks and object pointers (all kept), the labelled frame's, the constants."""
        if self.state is None:
            return 0
        kept = {key: value for key, value in self.state.items() if key not in STATE_LEFT_OUT}
        return tensor_bytes(kept, ("sam2",), self.model)

    def memory_frames(self) -> int:
        """Frames whose memory the state keeps (SAM 2 reads at most 7 of them per step)."""
        if self.state is None or not self.state["output_dict_per_obj"]:
            return 0
        # the labelled frame waits in the temporary outputs until the first propagation
        return len({index for outputs in (self.state["output_dict_per_obj"][0], self.state["temp_output_dict_per_obj"][0])
                    for kind in ("cond_frame_outputs", "non_cond_frame_outputs") for index in outputs[kind]})

    def snapshot(self):
        """A handle on the live state (not a copy: stepping from it moves it on)."""
        return self.state

    def restore(self, state) -> None:
        self.state = state
